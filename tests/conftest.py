"""Shared pytest fixtures."""

import os

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster for the session (2 CPUs, no dashboard, token auth off); skips without Ray."""
    ray = pytest.importorskip("ray")
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = (
        "disabled"  # a throwaway local cluster: no token to create or read
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved
