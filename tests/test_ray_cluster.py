"""A league across a Ray cluster of three nodes on this machine (Ray's own
``ray.cluster_utils.Cluster``: a head and two more nodes, one CPU each) is the
league the serial backend gives."""

import pytest

ray = pytest.importorskip("ray")

from test_parallel_learners import run, table, write_config  # noqa: E402

from arena.backends import RayBackend, SerialBackend  # noqa: E402
from arena.league import League  # noqa: E402


@pytest.fixture(scope="module")
def cluster(monkeypatch_module):
    """Three nodes of one CPU each; the session's local runtime (if any) comes back after."""
    from ray.cluster_utils import Cluster

    was_running = ray.is_initialized()
    if was_running:
        ray.shutdown()
    monkeypatch_module.setenv("RAY_AUTH_MODE", "disabled")  # a throwaway cluster: no token
    node = {"num_cpus": 1, "object_store_memory": 80 * 2**20, "include_dashboard": False}
    c = Cluster(initialize_head=True, head_node_args=node)
    try:
        for _ in range(2):
            c.add_node(**node)
        c.wait_for_nodes()
        ray.init(address=c.address, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        if was_running:  # as tests/conftest.py's ray_cluster started it
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.slow
def test_a_league_across_three_nodes_is_the_serial_league(tmp_path, cluster):
    run(write_config(tmp_path), tmp_path / "serial.db", SerialBackend())
    backend = RayBackend(address=cluster.address)
    assert backend.workers == 3
    league = League.open(write_config(tmp_path), tmp_path / "cluster.db", backend=backend)
    try:
        league.run()
        nodes = backend.nodes()
    finally:
        league.close()
        backend.close()
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(alive) == 3
    assert len(nodes) == 3 and nodes <= alive  # one actor on each node
    assert table(tmp_path / "cluster.db") == table(tmp_path / "serial.db")
