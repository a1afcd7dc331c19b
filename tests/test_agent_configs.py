"""Torch-free pieces of agents/: the hyperparameter dataclasses and the one device check."""

import dataclasses
import subprocess
import sys

import pytest

from agents import configs
from agents.registry import ALGORITHMS, config_class


def test_configs_registry_and_league_config_do_not_import_torch():
    code = (
        "import sys\n"
        "import agents.configs, agents.registry, leagues.config\n"
        "from leagues.config import algorithm_fields\n"
        "assert algorithm_fields('qmix')['mixer_embed'] is int\n"
        "assert 'torch' not in sys.modules, 'importing the configs imported torch'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_config_lives_in_agents_configs_and_its_module_uses_it(name):
    import importlib

    cls = config_class(name)
    assert getattr(configs, cls.__name__) is cls
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    cls()  # the defaults run
    module, learner, _ = ALGORITHMS[name]
    assert getattr(importlib.import_module(module), cls.__name__) is cls


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CPU", "", "cuda:-1"])
def test_one_device_check_refuses_a_malformed_device_in_one_line(device):
    from agents.base import DeviceError, check_device

    with pytest.raises(DeviceError, match="is not a torch device; use 'cpu'"):
        check_device(device, available=False)


def test_the_device_check_needs_no_torch_for_cpu_or_the_spelling():
    code = (
        "import sys\n"
        "from agents.base import check_device\n"
        "check_device('cpu'); check_device('cuda:3', available=False)\n"
        "assert 'torch' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
