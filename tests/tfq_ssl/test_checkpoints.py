"""Truncated checkpoints are found, named and redone; a run is never 'done' on one."""

import tfq_ssl  # noqa: F401
import os

import pytest

from models import probe as probe_lib
from models.pretraining import pretrain
from tests.helpers import tiny_config, view_pairs
from tfq_ssl import rundir
from tfq_ssl.errors import CorruptFileError


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    config = tiny_config("classical", steps=4, save_every=2)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    return config, run_dir


def _copy(run_dir, tmp_path):
    import shutil
    target = str(tmp_path / "run")
    shutil.copytree(run_dir, target)
    os.remove(os.path.join(target, ".lock"))
    return target


def _truncate(path, keep=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


@pytest.mark.parametrize("part", ["index", "data"])
def test_truncated_file_is_named(finished, tmp_path, part):
    _, run_dir = finished
    run_dir = _copy(run_dir, tmp_path)
    prefix = rundir.checkpoint_prefix(run_dir, 4)
    target = prefix + ".index" if part == "index" else prefix + ".data-00000-of-00001"
    _truncate(target)
    with pytest.raises(CorruptFileError, match=os.path.basename(target).split(".")[0]):
        rundir.verify_checkpoint(prefix)
    with pytest.raises(CorruptFileError, match="Rerun the run's pretraining"):
        probe_lib.load_encoder(run_dir, 4)


def test_rerun_of_a_done_run_with_a_truncated_last_checkpoint_redoes_it(finished, tmp_path):
    config, run_dir = finished
    run_dir = _copy(run_dir, tmp_path)
    _truncate(rundir.checkpoint_prefix(run_dir, 4) + ".data-00000-of-00001")
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints"] == [2, 4]
    rundir.verify_checkpoint(rundir.checkpoint_prefix(run_dir, 4))
    kept = os.listdir(os.path.join(run_dir, "checkpoints", "corrupt"))
    assert sorted(kept) == ["step-00004.data-00000-of-00001", "step-00004.index"]
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["1", "2", "3", "4"]


def test_a_corrupt_middle_checkpoint_resumes_from_the_one_before(finished, tmp_path):
    config, run_dir = finished
    run_dir = _copy(run_dir, tmp_path)
    _truncate(rundir.checkpoint_prefix(run_dir, 2) + ".index")
    assert rundir.resume_point(run_dir) == 0
    assert rundir.list_checkpoints(run_dir) == []
    assert os.listdir(os.path.join(run_dir, "checkpoints", "superseded"))
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["checkpoints"] == [2, 4]
