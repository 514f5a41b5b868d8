"""Hostile cases of issue 19 on a run folder: damaged logs, a lost record, a swallowed
Ctrl-C, a bad or moved data location. Each test failed on the code before the fix."""

import tfq_ssl  # noqa: F401
import dataclasses
import logging
import os
import threading

import pytest
import tf_keras

from models.simclr_fit import pretrain
from tests.helpers import InterruptAt, copy_run, tiny_config, view_pairs
from tfq_ssl import cli, rundir
from tfq_ssl import files
from tfq_ssl.callbacks import StopWhenInterrupted
from tfq_ssl.data import DatasetUnavailableError


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run of 4 steps interrupted after step 3 (resume state and checkpoint at 2)."""
    run_dir = str(tmp_path_factory.mktemp("stopped"))
    config = tiny_config("classical", steps=4, save_every=2)
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, run_dir, dataset=view_pairs(config), verbose=0,
                 callbacks=[InterruptAt(3)])
    return config, run_dir


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("finished"))
    config = tiny_config("classical", steps=4, save_every=2)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    return config, run_dir


def _lines(run_dir, name=rundir.METRICS_FILE):
    with open(os.path.join(run_dir, name)) as f:
        return f.read().splitlines()


def _steps(run_dir):
    return [line.split(",")[0] for line in _lines(run_dir)[1:]]


def _rewrite_line(run_dir, number, text):
    lines = _lines(run_dir)
    if text is None:
        del lines[number - 1]
    else:
        lines[number - 1] = text
    with open(os.path.join(run_dir, rundir.METRICS_FILE), "w") as f:
        f.write("\n".join(lines) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbled", "missing"])
def test_an_unfinished_run_recomputes_the_rows_its_damaged_log_lost(stopped, tmp_path, caplog,
                                                                    damage):
    """Case 10: the old advice (delete the garbled line, rerun) lost that step's row."""
    config, run_dir = stopped
    run_dir = copy_run(run_dir, tmp_path)
    assert _steps(run_dir) == ["1", "2", "3"]
    _rewrite_line(run_dir, 2, "1,0.1,zz" if damage == "garbled" else None)  # step 1's row
    with caplog.at_level(logging.WARNING):
        result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints"] == [2, 4]
    assert _steps(run_dir) == ["1", "2", "3", "4"]  # every row, each once
    assert "resumes from step 0" in caplog.text and "metrics.csv" in caplog.text
    # The checkpoint of step 2 was redone; the one it replaced is kept, not deleted.
    assert os.listdir(os.path.join(run_dir, "checkpoints", rundir.SUPERSEDED_DIR))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["middle", "torn last"])
def test_a_finished_runs_damaged_log_is_named(finished, tmp_path, caplog, damage):
    """Case 9: a rerun reported the run done and said nothing of the damage."""
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    line, text = (3, "garbage") if damage == "middle" else (5, "4,0.")
    _rewrite_line(run_dir, line, text)
    with caplog.at_level(logging.WARNING):
        result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"]
    assert f"metrics.csv: line {line} is garbled" in caplog.text
    assert f"rows after step {line - 2} are lost" in caplog.text


def test_a_garbled_line_names_a_remedy_that_loses_no_row(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,2.0\nxx,garbage\n3,1.0\n")
    with pytest.raises(rundir.CorruptFileError, match="line 3 is garbled.*recomputes") as info:
        files.StepCSV(str(path), ["loss"]).rows()
    assert "delete" not in str(info.value)


def test_a_done_run_with_a_lost_last_checkpoint_is_not_retrained(finished, tmp_path, caplog):
    """A finished run keeps its last resume state: losing checkpoint 4 costs no step."""
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    before = _lines(run_dir)
    with open(rundir.checkpoint_prefix(run_dir, 4) + ".index", "r+b") as f:
        f.truncate(10)
    with caplog.at_level(logging.INFO):
        result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints"] == [2, 4]
    rundir.verify_checkpoint(rundir.checkpoint_prefix(run_dir, 4))
    assert "from step 4 of 4" in caplog.text
    assert _lines(run_dir) == before  # nothing retrained


def test_a_lost_record_keeps_its_seconds_and_no_empty_resume_folder_stays(finished, tmp_path):
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    with open(os.path.join(run_dir, rundir.STATE_FILE), "w") as f:
        f.write("{garbled")
    rundir.drop_resume_states(run_dir)  # a run folder finished by older code
    assert not os.path.exists(os.path.join(run_dir, "checkpoints", rundir.RESUME_DIR))
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    state = rundir.read_state(run_dir)
    logged = sum(float(line.split(",")[-1]) for line in _lines(run_dir)[1:])
    assert state["done"] and state["steps"] == 4
    assert state["seconds"] == pytest.approx(logged, abs=0.01)


class _SwallowedCtrlC(tf_keras.callbacks.Callback):
    """Sets the interrupt flag as Ctrl-C does where Python swallows its KeyboardInterrupt
    (a garbage-collection callback), at the end of ``step``."""

    def __init__(self, event, step):
        super().__init__()
        self.event, self.step = event, step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            self.event.set()


@pytest.mark.slow
def test_a_swallowed_ctrl_c_still_stops_training_after_the_step(tmp_path):
    """Case 3: the interrupt was swallowed and the run trained to its end."""
    config = tiny_config("classical", steps=4, save_every=2)
    run_dir = str(tmp_path / "run")
    event = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, run_dir, dataset=view_pairs(config), verbose=0,
                 callbacks=[_SwallowedCtrlC(event, 1), StopWhenInterrupted(event)])
    assert _steps(run_dir) == ["1"]
    result = pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    assert result["done"] and _steps(run_dir) == ["1", "2", "3", "4"]


def test_a_ctrl_c_swallowed_inside_main_still_exits_130(capsys):
    def main(argv):
        try:
            cli._on_sigint(2, None)  # what Ctrl-C runs; its exception is lost
        except KeyboardInterrupt:
            pass
        return 0

    assert cli.run("prog", main, []) == cli.INTERRUPTED
    assert "interrupted; rerun the same command" in capsys.readouterr().err
    assert cli.run("prog", lambda argv: 0, []) == 0  # the flag does not outlive a run


def test_the_data_location_is_checked_before_anything_is_written(tmp_path):
    """Case 4: a missing data set left .lock, checkpoints/ and config.json behind."""
    empty = tmp_path / "empty"
    empty.mkdir()
    config = tiny_config("classical")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                  data_dir=str(empty)))
    with pytest.raises(DatasetUnavailableError, match="not available"):
        pretrain(config, str(tmp_path / "run"), verbose=0)
    assert not (tmp_path / "run").exists()


def test_a_rerun_that_moves_the_data_updates_the_stored_location(finished, tmp_path):
    """Case 5: the stored location kept the old path, and later commands failed on it."""
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    moved = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                 data_dir=str(tmp_path)))
    rundir.prepare(moved, run_dir)
    assert rundir.read_config(run_dir).data.data_dir == str(tmp_path)
    rundir.prepare(config, run_dir)  # no location given (None): the stored one stays
    assert rundir.read_config(run_dir).data.data_dir == str(tmp_path)


def test_tfds_data_dir_is_the_default_of_every_data_dir_option(monkeypatch, tmp_path):
    """Case 5: TFDS_DATA_DIR did not win over a run's stored location."""
    from train import confusion, pretrain as pretrain_cli, probe

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert probe.build_parser().parse_args(["--run", "R"]).data_dir == str(tmp_path)
    assert confusion.build_parser().parse_args(["--run", "R"]).data_dir == str(tmp_path)
    config = pretrain_cli.resolve_config(
        "smoke", None, pretrain_cli.build_parser().parse_args(["--out", "R"]).data_dir, [])
    assert config.data.data_dir == str(tmp_path)


def test_a_data_dir_that_is_not_a_folder_is_one_line_before_tensorflow(tmp_path, capsys):
    from train import pretrain as pretrain_cli

    afile = tmp_path / "file"
    afile.write_text("x")
    for bad in (str(tmp_path / "nowhere"), str(afile)):
        assert pretrain_cli.main(["--preset", "smoke", "--out", str(tmp_path / "run"),
                                  "--data-dir", bad]) == cli.USAGE_ERROR
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a folder" in err
    assert not (tmp_path / "run").exists()



def test_a_different_config_with_a_new_data_location_leaves_the_stored_config(finished,
                                                                              tmp_path):
    """The data location was written before the configs were compared, so a refused
    rerun replaced the run's config.json with the other config."""
    config, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    with open(rundir.config_path(run_dir)) as f:
        before = f.read()
    other = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                 data_dir=str(tmp_path)),
                                train=dataclasses.replace(config.train, steps=9))
    with pytest.raises(rundir.RunFolderError, match="different config"):
        rundir.prepare(other, run_dir)
    with open(rundir.config_path(run_dir)) as f:
        assert f.read() == before


def test_a_different_config_is_refused_before_tensorflow_loads(finished, tmp_path):
    import subprocess
    import sys
    _, run_dir = finished
    run_dir = copy_run(run_dir, tmp_path)
    script = ("import sys\nfrom train import pretrain\n"
              f"code = pretrain.main(['--config', {rundir.config_path(run_dir)!r}, '--out', "
              f"{run_dir!r}, '--set', 'train.steps=9'])\n"
              "print('TF' if 'tensorflow' in sys.modules else 'no TF')\nsys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout.strip() == "no TF", proc.stderr
    assert "different config (train.steps: 4 there, 9 now)" in proc.stderr
