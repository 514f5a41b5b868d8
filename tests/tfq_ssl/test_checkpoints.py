"""Truncated checkpoints are found, named and redone; a run is never 'done' on one."""

import tfq_ssl  # noqa: F401
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from models.simclr_fit import pretrain
from models.run import Run
from tests.helpers import InterruptAt, copy_run, tiny_config, view_pairs
from tfq_ssl import rundir
from tfq_ssl.errors import CorruptFileError


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    config = tiny_config("classical", steps=4, save_every=2)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    return config, run_dir


def _truncate(path, keep=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


@pytest.mark.slow
@pytest.mark.parametrize("part", ["index", "data"])
def test_truncated_file_is_named(finished, tmp_path, part):
    _, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    prefix = rundir.checkpoint_prefix(run_dir, 4)
    target = prefix + ".index" if part == "index" else prefix + ".data-00000-of-00001"
    _truncate(target)
    with pytest.raises(CorruptFileError, match=os.path.basename(target).split(".")[0]):
        rundir.verify_checkpoint(prefix)
    with pytest.raises(CorruptFileError, match="Rerun the run's pretraining"):
        Run(run_dir).encoder(4)


def test_rerun_of_a_done_run_with_a_truncated_last_checkpoint_redoes_it(finished, tmp_path):
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    _truncate(rundir.checkpoint_prefix(run_dir, 4) + ".data-00000-of-00001")
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints"] == [2, 4]
    rundir.verify_checkpoint(rundir.checkpoint_prefix(run_dir, 4))
    kept = os.listdir(os.path.join(run_dir, "checkpoints", "corrupt"))
    assert sorted(kept) == ["step-00004.data-00000-of-00001", "step-00004.index"]
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["1", "2", "3", "4"]


@pytest.mark.slow
def test_a_corrupt_middle_checkpoint_resumes_from_the_one_before(finished, tmp_path):
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    _truncate(rundir.checkpoint_prefix(run_dir, 2) + ".index")
    assert rundir.resume_point(run_dir, 4) == rundir.ResumePoint(0, None)
    assert rundir.list_checkpoints(run_dir) == []
    assert os.listdir(os.path.join(run_dir, "checkpoints", "superseded"))
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["checkpoints"] == [2, 4]


class _Moments(tf_keras.callbacks.Callback):
    """What the optimiser holds when training (re)starts."""

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.iterations = int(optimizer.iterations.numpy())
        self.sums = sorted(float(np.abs(v.numpy()).sum()) for v in optimizer.variables
                           if v.shape.rank and v.shape.rank > 0)


def _moment_sums(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return sorted(float(np.abs(reader.get_tensor(name)).sum())
                  for name, shape in reader.get_variable_to_shape_map().items()
                  if name.startswith("optimizer/") and shape)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["resume-state", "full-checkpoints"])
def test_a_resume_restores_the_optimiser_state(tmp_path, layout):
    """A resume continues with the Adam moments of its step: from the resume state, or,
    in run folders written before weights-only checkpoints (optimiser state in every
    checkpoint, no resume state), from the newest checkpoint."""
    config = tiny_config("classical", steps=4, save_every=2)
    run = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, run, dataset=view_pairs(config), verbose=0, callbacks=[InterruptAt(3)])
    assert rundir.list_resume_states(run) == [2]
    assert not rundir.has_optimizer_state(rundir.checkpoint_prefix(run, 2))
    state = rundir.resume_prefix(run, 2)
    if layout == "full-checkpoints":  # what a run folder of 2026-11 holds
        folder, state = os.path.dirname(state), rundir.checkpoint_prefix(run, 2)
        for name in os.listdir(folder):
            os.replace(os.path.join(folder, name), state + name[len("step-00002"):])
        os.rmdir(folder)
        assert rundir.has_optimizer_state(state)
    assert rundir.resume_point(run, 4) == rundir.ResumePoint(2, state)
    saved = _moment_sums(state)
    assert len(saved) >= 10 and min(saved) > 0  # m and v of every weight, all non-zero
    moments = _Moments()
    result = pretrain(config, run, dataset=view_pairs(config), verbose=0, callbacks=[moments])
    assert moments.iterations == 2
    np.testing.assert_allclose(moments.sums, saved, rtol=1e-6)
    assert result["done"] and result["checkpoints"] == [2, 4]
    assert rundir.list_resume_states(run) == [4]  # the last, to rewrite a lost checkpoint 4
    assert not rundir.has_optimizer_state(rundir.checkpoint_prefix(run, 4))


def test_checkpoints_past_the_newest_resume_state_are_set_aside(finished, tmp_path):
    """A weights checkpoint newer than every resume state (its resume state was lost)
    cannot be continued from: it is moved to superseded/ and recomputed."""
    _, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    # As if the finished 4-step run were continued to 6, its resume state lost.
    rundir.drop_resume_states(run_dir)
    assert rundir.resume_point(run_dir, 6) == rundir.ResumePoint(0, None)
    assert rundir.list_checkpoints(run_dir) == []
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints", "superseded"))) == [
        "step-00002.data-00000-of-00001", "step-00002.index",
        "step-00004.data-00000-of-00001", "step-00004.index"]


@pytest.mark.parametrize("keep_last", [True, False])
def test_a_run_whose_checkpoints_were_dropped_is_not_trained_again(finished, tmp_path,
                                                                    keep_last):
    """--keep last/none: a sweep drops a probed run's checkpoints; a rerun of its
    pretraining must see a finished run, not an empty one to train from step 0."""
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        before = f.read()
    assert rundir.drop_checkpoints(run_dir, keep_last=keep_last) == ([2] if keep_last else [2, 4])
    assert rundir.list_checkpoints(run_dir) == ([4] if keep_last else [])
    assert rundir.list_resume_states(run_dir) == []
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints_dropped"] == ([2] if keep_last else [2, 4])
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        assert f.read() == before
