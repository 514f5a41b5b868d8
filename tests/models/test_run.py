import tfq_ssl  # noqa: F401
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from models.run import Run, ProbeHead, feature_engine
from tests.helpers import ROOT, tiny_config, write_cifar10
from tfq_ssl import config_io
from tfq_ssl import probe_store, rundir
from tfq_ssl.config import ProbeConfig
from tfq_ssl.errors import ConfigError, RunFolderError


@pytest.fixture
def run_folder(tmp_path):
    """A run folder with a config and no checkpoints: enough for what needs no weights."""
    config = tiny_config("quantum")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, classes=[3, 5]))
    folder = str(tmp_path / "run")
    rundir.prepare(config, folder)
    return folder


def test_opening_a_run_reads_its_config_and_loads_no_tensorflow(run_folder):
    code = ("import sys; from models.run import Run; r = Run(sys.argv[1]); "
            "print(r.class_names, r.checkpoints, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, run_folder], cwd=ROOT, text=True,
                         capture_output=True, check=True).stdout
    assert out.split() == ["['cat',", "'dog']", "[]", "False"]


def test_a_folder_without_a_run_is_refused(tmp_path):
    with pytest.raises(RunFolderError, match="config.json"):
        Run(str(tmp_path))


def test_no_checkpoints_is_one_clear_error(run_folder):
    with pytest.raises(RunFolderError, match="no checkpoints; pretrain it first"):
        Run(run_folder).select("latest")
    with pytest.raises(RunFolderError, match="no checkpoint for step 4"):
        Run(run_folder).encoder(4)


def test_the_test_sample_is_seeded_in_split_order_and_refuses_too_many(run_folder, tmp_path):
    data_dir = write_cifar10(str(tmp_path / "tfds"), n_test=32, classes=6)
    run = Run(run_folder)
    images, labels = run.test_sample(5, seed=1, data_dir=data_dir)
    again, _ = run.test_sample(5, seed=1, data_dir=data_dir)
    other, _ = run.test_sample(5, seed=2, data_dir=data_dir)
    _, test = run.splits(data_dir)
    everything = np.stack([image for image, _ in test.as_numpy_iterator()])
    assert images.shape == (5, 32, 32, 3) and set(labels) <= {0, 1}  # labels remapped
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, other)
    rows = [int(np.flatnonzero((everything == image).all(axis=(1, 2, 3)))[0]) for image in images]
    assert rows == sorted(rows)
    with pytest.raises(ConfigError, match=f"the split has {len(everything)}; use --images"):
        run.test_sample(len(everything) + 1, data_dir=data_dir)


def test_the_probe_head_is_found_and_predicts_argmax_of_its_logits(run_folder):
    probe = ProbeConfig(epochs=7)  # not the default schedule: found as the only one there
    kernel = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    bias = np.array([0.0, 0.5], np.float32)
    probe_store.write_probe_result(run_folder, probe, 2, {"probe_config": config_io.to_dict(probe)},
                                   kernel, bias)
    head = Run(run_folder).probe_head("cached", 2)
    assert isinstance(head, ProbeHead) and os.path.dirname(head.path).endswith(
        probe_store.probe_key(probe))
    np.testing.assert_array_equal(head.predict([[1.0, 0.0], [1.0, 0.8], [0.0, 0.0]]), [0, 1, 1])
    with pytest.raises(RunFolderError, match="train.probe --run"):
        Run(run_folder).probe_head("paper", 2)


def test_only_exact_tfq_runs_up_to_12_qubits_are_swapped_to_the_statevector_engine():
    model = tiny_config("quantum").model
    assert feature_engine(model) == "statevector"
    assert feature_engine(tiny_config("classical").model) == model.engine
