"""The run folder: one writer at a time, atomic files, corruption found and named."""

import tfq_ssl  # noqa: F401
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import ROOT, tiny_config
from tfq_ssl import config as config_lib
from tfq_ssl import config_io
from tfq_ssl import rundir
from tfq_ssl import probe_store
from tfq_ssl import files
from tfq_ssl.config import ProbeConfig
from tfq_ssl.errors import ConfigError, CorruptFileError, RunFolderError, RunLockedError

DATA = os.path.join(ROOT, "tests", "data")


def _hold_lock(folder):
    """A second process that takes the folder's lock and waits."""
    code = ("import sys, time; from tfq_ssl import files\n"
            "with files.locked(sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path):
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(RunLockedError, match=f"in use by process {holder.pid}"):
            with files.locked(str(tmp_path)):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    holder = _hold_lock(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert open(tmp_path / ".lock").read().strip() == str(holder.pid)  # left behind
    with files.locked(str(tmp_path)):
        assert open(tmp_path / ".lock").read().strip() == str(os.getpid())


def test_pretraining_into_a_locked_folder_is_refused_before_writing(tmp_path):
    import tensorflow as tf

    from models.simclr_fit import pretrain
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(RunLockedError):  # the batches are never reached
            pretrain(tiny_config(), str(tmp_path), dataset=tf.data.Dataset.range(1), verbose=0)
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "config.json").exists()


def test_lock_is_reentrant_within_a_process(tmp_path):
    with files.locked(str(tmp_path)):
        with files.locked(str(tmp_path)):
            pass
        assert os.path.join(os.path.realpath(tmp_path), files.LOCK_FILE) in files._held
    assert not files._held


def test_step_csv_drops_a_torn_last_line_and_names_a_garbled_one(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,2.0\n2,1.5\n3,1.")
    log = files.StepCSV(str(path), ["loss"])
    assert [r["step"] for r in log.rows()] == ["1", "2", "3"]
    path.write_text("step,loss\n1,2.0\n2,1.5\n3")  # torn inside the last row
    assert [r["step"] for r in log.rows()] == ["1", "2"]
    path.write_text("step,loss\n1,2.0\nxx,garbage\n3,1.0\n")
    with pytest.raises(CorruptFileError, match="metrics.csv: line 3 is garbled"):
        log.truncate_after(2)


def test_garbled_state_json_is_only_a_record(tmp_path):
    (tmp_path / "state.json").write_text("{garbage")
    assert rundir.read_state(str(tmp_path)) == {}


def test_garbled_config_json_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"name": ')
    with pytest.raises(CorruptFileError, match="config.json is not valid JSON.*restore it"):
        rundir.read_config(str(tmp_path))


def test_config_written_before_the_engine_rename_still_loads():
    path = os.path.join(DATA, "config_2026-11.json")
    assert "backend" in json.load(open(path))["model"]
    config = config_io.load_json(path)
    assert config.model.engine == "tfq" and config == tiny_config(
        "quantum", steps=2, save_every=1, hs_metrics=False)


def test_both_names_of_a_renamed_key_are_refused():
    data = config_io.to_dict(tiny_config())
    data["model"]["backend"] = "tfq"
    with pytest.raises(ConfigError, match="both 'backend'"):
        config_io.from_dict(config_lib.RunConfig, data)


def test_probe_results_are_keyed_by_their_settings(tmp_path):
    three, seven = ProbeConfig(epochs=3), ProbeConfig(epochs=7)
    assert probe_store.probe_key(ProbeConfig()) == "cached"
    assert probe_store.probe_key(ProbeConfig(protocol="paper")) == "paper"
    assert probe_store.probe_key(three) != probe_store.probe_key(seven)
    assert probe_store.probe_key(three).startswith("cached-")
    probe_store.write_probe_result(str(tmp_path), three, 5, {"probe_config": config_io.to_dict(three)},
                              [[1.0]], [0.0])
    assert probe_store.read_probe_result(str(tmp_path), three, 5)["probe_config"]["epochs"] == 3
    assert probe_store.read_probe_result(str(tmp_path), seven, 5) is None


def test_a_stored_result_of_other_settings_is_refused(tmp_path):
    probe = ProbeConfig()
    path = probe_store.probe_result_path(str(tmp_path), probe, 5)
    os.makedirs(os.path.dirname(path))
    json.dump({"probe_config": config_io.to_dict(ProbeConfig(epochs=3))}, open(path, "w"))
    with pytest.raises(CorruptFileError, match="other settings"):
        probe_store.read_probe_result(str(tmp_path), probe, 5)


def test_select_checkpoints_errors(tmp_path):
    with pytest.raises(RunFolderError, match="no checkpoints"):
        rundir.select_checkpoints(str(tmp_path), "all")


def test_each_checkpoints_probe_has_its_own_lock(tmp_path):
    """Probes of different checkpoints of one run may run at once; one checkpoint's
    probe is held by one process (its result is written once)."""
    probe = ProbeConfig()
    with probe_store.probe_locked(str(tmp_path), probe, 13):
        with probe_store.probe_locked(str(tmp_path), probe, 26):  # another checkpoint: free
            pass
        script = ("import sys; from tfq_ssl import probe_store; from tfq_ssl.config import ProbeConfig\n"
                  "from tfq_ssl.errors import RunLockedError\n"
                  "try:\n"
                  "    with probe_store.probe_locked(sys.argv[1], ProbeConfig(), int(sys.argv[2])): print('free')\n"
                  "except RunLockedError: print('locked')\n")
        out = [subprocess.run([sys.executable, "-c", script, str(tmp_path), step], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip() for step in ("13", "26")]
    assert out == ["locked", "free"]
