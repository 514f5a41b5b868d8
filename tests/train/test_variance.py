"""The variance study: its runs hold all but one source at seed 0, its shares add up,
and the CLI runs the whole study on a generated CIFAR-10 directory."""

import json
import math

import numpy as np
import pytest

from tests.helpers import write_cifar10
from tfq_ssl import rundir
from tfq_ssl import probe_store
from tfq_ssl.config import ProbeConfig
from train import variance


def test_each_run_varies_one_source():
    configs = variance.run_configs("smoke", 3)
    assert sorted(configs) == ["base", "data-1", "data-2", "init-1", "init-2"]
    seeds = {name: (c.train.seed, c.train.data_seed) for name, c in configs.items()}
    assert seeds == {"base": (0, 0), "init-1": (1, 0), "init-2": (2, 0),
                     "data-1": (0, 1), "data-2": (0, 2)}


def test_shares_by_hand():
    out = variance.shares({"a": [0.1, 0.2, 0.3], "b": [0.5, 0.5, 0.8]})
    va, vb = np.var([0.1, 0.2, 0.3], ddof=1), np.var([0.5, 0.5, 0.8], ddof=1)
    assert out["a"]["variance"] == pytest.approx(va)
    assert out["a"]["share"] == pytest.approx(va / (va + vb))
    assert out["a"]["share"] + out["b"]["share"] == pytest.approx(1.0)
    assert out["b"]["std_ci"][0] < math.sqrt(vb) < out["b"]["std_ci"][1]


@pytest.mark.slow
def test_the_cli_runs_the_study(tmp_path):
    data_dir = write_cifar10(str(tmp_path / "tfds"))
    out = tmp_path / "study"
    argv = ["--preset", "smoke", "--out", str(out), "--seeds", "2", "--probe-epochs", "2",
            "--data-dir", data_dir, "--set", "model.width=2", "--set", "model.layers=1",
            "--set", "data.download=false", "--set", "train.steps=2",
            "--set", "model.engine=statevector", "--set", "model.resnet_depth=10",
            "--executor", "inline"]
    assert variance.main(argv) == 0
    text = (out / "variance.md").read_text()
    for source in variance.SOURCES.values():
        assert source in text
    study = json.loads((out / "variance.json").read_text())
    final = study["sources"]["final"]
    assert [final[s]["n"] for s in ("init", "data", "probe")] == [2, 2, 2]
    # every source starts from the (0, 0) run's own probe result
    base = probe_store.read_probe_result(str(out / "runs" / "base"), ProbeConfig(epochs=2), 2)
    assert {final[s]["values"][0] for s in final} == {base["final_test_accuracy"]}
    # the probe's second seed has a result of its own beside the default one
    seeded = probe_store.read_probe_result(str(out / "runs" / "base"),
                                      ProbeConfig(epochs=2, seed=1), 2)
    assert final["probe"]["values"][1] == seeded["final_test_accuracy"]
    assert rundir.read_config(str(out / "runs" / "data-1")).train.data_seed == 1
