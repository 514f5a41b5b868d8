"""A pretraining run killed at any of its write points resumes to the complete record.

Every write of a run (log rows, checkpoints, the final state) is enumerated. One run's
folder is copied right after each write: what a process killed there leaves on disk
(nothing in memory survives a kill, and nothing after the write happened). A run is
also killed in the middle of writing a checkpoint. A pretraining resumed from each of
these must end with every step's metrics row exactly once, every Hilbert–Schmidt row
once, every checkpoint present and loadable, and the run done.
"""

import tfq_ssl  # noqa: F401
import csv
import os
import shutil

import pytest

from models.simclr_fit import pretrain
from tests.helpers import tiny_config, view_pairs
from tfq_ssl import config_io
from tfq_ssl import rundir
from tfq_ssl import files

pytestmark = pytest.mark.slow  # child processes or whole runs, each test


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs."""


def _config():
    config = tiny_config("quantum", steps=4, save_every=2)
    return config_io.override(config, ["model.engine=statevector"])


def _steps(path):
    with open(path, newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


class _Writes:
    """Counts the run's writes; copies the run folder after each (``copy``: the folder
    and where to copy it), or dies inside the checkpoint write of ``inside_checkpoint``."""

    def __init__(self, monkeypatch, inside_checkpoint=None, copy=None):
        self.log = []
        self.copy = copy
        append, state = files.StepCSV.append, rundir.write_state
        save, resume = rundir.save_checkpoint, rundir.save_resume_state
        writes = self

        def counted_append(csv_self, row):
            append(csv_self, row)
            writes.wrote(f"{os.path.basename(csv_self.path)}:{row['step']}")

        def counted_save(model, run_dir, step):
            if inside_checkpoint == step:  # TF wrote temporary files; nothing renamed yet
                tmp = os.path.join(run_dir, rundir.CHECKPOINT_DIR,
                                   f"{rundir.TMP_PREFIX}{os.getpid()}-step-{step:05d}")
                model.save_weights(tmp)
                os.makedirs(f"{tmp}_temp")  # where TF's SaveV2 puts shards before merging
                open(f"{tmp}_temp/part-00000-of-00001.data-00000-of-00001", "wb").write(b"x")
                raise Killed()
            out = save(model, run_dir, step)
            writes.wrote(f"checkpoint:{step}")
            return out

        def counted_resume(model, run_dir, step):
            out = resume(model, run_dir, step)
            writes.wrote(f"resume:{step}")
            return out

        def counted_state(run_dir, data):
            state(run_dir, data)
            writes.wrote("state")

        monkeypatch.setattr(files.StepCSV, "append", counted_append)
        monkeypatch.setattr(rundir, "save_checkpoint", counted_save)
        monkeypatch.setattr(rundir, "save_resume_state", counted_resume)
        monkeypatch.setattr(rundir, "write_state", counted_state)

    def wrote(self, what):
        self.log.append(what)
        if self.copy is not None:
            run_dir, into = self.copy
            shutil.copytree(run_dir, os.path.join(into, str(len(self.log))))


WRITES = ["hilbert_schmidt.csv:0", "metrics.csv:1", "metrics.csv:2", "hilbert_schmidt.csv:2",
          "resume:2", "checkpoint:2", "metrics.csv:3", "metrics.csv:4", "hilbert_schmidt.csv:4",
          "resume:4", "checkpoint:4", "state"]


def _assert_complete(run_dir):
    assert _steps(os.path.join(run_dir, "metrics.csv")) == [1, 2, 3, 4]
    assert _steps(os.path.join(run_dir, "hilbert_schmidt.csv")) == [0, 2, 4]
    assert rundir.list_checkpoints(run_dir) == [2, 4]
    for step in (2, 4):
        prefix = rundir.checkpoint_prefix(run_dir, step)
        rundir.verify_checkpoint(prefix)
        assert not rundir.has_optimizer_state(prefix)  # weights only
    assert rundir.read_state(run_dir)["done"]
    assert rundir.list_resume_states(run_dir) == [4]  # a done run keeps only its last


@pytest.fixture(scope="module")
def killed_copies(tmp_path_factory):
    """One uninterrupted run: its write log, its folder, and the folder's copy after each
    write (copies/K: killed right after the K-th write)."""
    root = tmp_path_factory.mktemp("kills")
    run_dir, copies = str(root / "run"), str(root / "copies")
    config = _config()
    with pytest.MonkeyPatch.context() as patch:
        writes = _Writes(patch, copy=(run_dir, copies))
        pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    return writes.log, run_dir, copies


def test_the_write_sequence_is_rows_then_checkpoint(killed_copies):
    log, run_dir, _ = killed_copies
    assert log == WRITES
    _assert_complete(run_dir)


@pytest.mark.parametrize("kill_after", range(1, len(WRITES) + 1),
                         ids=lambda k: f"after-{WRITES[k - 1]}")
def test_kill_after_each_write_resumes_to_the_complete_record(tmp_path, killed_copies,
                                                               kill_after):
    run_dir = str(tmp_path / "run")
    shutil.copytree(os.path.join(killed_copies[2], str(kill_after)), run_dir)
    config = _config()
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["steps"] == 4 and result["checkpoints"] == [2, 4]
    _assert_complete(run_dir)


@pytest.mark.parametrize("step", [2, 4])
def test_kill_inside_a_checkpoint_write_leaves_no_partial_checkpoint(tmp_path, monkeypatch, step):
    config = _config()
    with monkeypatch.context() as patch:
        _Writes(patch, inside_checkpoint=step)
        with pytest.raises(Killed):
            pretrain(config, str(tmp_path), dataset=view_pairs(config), verbose=0)
    assert rundir.list_checkpoints(str(tmp_path)) == ([] if step == 2 else [2])
    pretrain(config, str(tmp_path), dataset=view_pairs(config), verbose=0)
    _assert_complete(str(tmp_path))
    leftovers = [n for n in os.listdir(tmp_path / "checkpoints") if n.startswith(".tmp")]
    assert leftovers == []
