"""Sweeps on a local Ray instance (2 CPUs, tiny runs on a generated CIFAR-10 directory):
every pretraining and probe is a task, the sweep completes, a rerun reuses everything,
a failing task is reported by name, and a worker killed mid-task is survived with
nothing written twice."""

import tfq_ssl  # noqa: F401
import csv
import os
import re
import signal
import threading
import time

import pytest

from tests.helpers import tiny_config, write_cifar10
from tfq_ssl import config_io
from tfq_ssl import rundir
from tfq_ssl import probe_store
from tfq_ssl.config import ProbeConfig
from train import experiment, sweep

pytestmark = pytest.mark.slow  # child processes or whole runs, each test

ray = pytest.importorskip("ray")

PROBE = ProbeConfig(epochs=3, batch_size=16, learning_rate=0.05)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, runtime_env=sweep.runtime_env())
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(str(tmp_path_factory.mktemp("tfds")))


def _jobs(exp_dir, data_dir, steps=4, representations=("quantum", "classical"), **changes):
    jobs = []
    for rep in representations:
        config = tiny_config(rep, steps=steps, save_every=2, hs_batch=4, **changes)
        config = config_io.override(config, [f'data.data_dir="{data_dir}"'])
        jobs.append(sweep.Job(f"{rep} seed 0", config, str(exp_dir / rep)))
    return jobs


def _steps(path):
    with open(path, newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def _writes_per_probe(folder):
    with open(os.path.join(folder, sweep.EXPERIMENT_LOG)) as f:
        return sorted(re.findall(r"probe step (\d+): result written", f.read()))


def _run(jobs, **kwargs):
    return sweep.run_ray(jobs, PROBE, None, address=None, cpus_per_task=1, gpus_per_task=None,
                         retries=kwargs.pop("retries", 2), **kwargs)


def test_a_failing_task_is_retried_then_reported_and_the_rest_go_on(local_ray, data_dir,
                                                                    tmp_path):
    good, bad = _jobs(tmp_path, data_dir)
    missing = config_io.override(bad.config, [f'data.data_dir="{tmp_path / "nowhere"}"',
                                               "data.download=false"])
    bad = sweep.Job("broken seed 0", missing, bad.folder)
    outcome = _run([good, bad], retries=1)
    assert outcome.done == 3
    assert sorted(outcome.failed) == ["pretrain broken seed 0", "probe broken seed 0 step 2",
                                      "probe broken seed 0 step 4"]
    assert rundir.read_state(good.folder)["done"]
    with open(os.path.join(bad.folder, sweep.EXPERIMENT_LOG)) as f:
        assert f.read().count("pretraining task (pid") == 2  # the first try and one retry


def test_a_worker_killed_mid_pretraining_is_retried_and_nothing_is_written_twice(
        local_ray, data_dir, tmp_path):
    [job] = _jobs(tmp_path, data_dir, steps=8, representations=("quantum",))
    killed = []

    def kill_when_training():
        metrics = os.path.join(job.folder, rundir.METRICS_FILE)
        log = os.path.join(job.folder, sweep.EXPERIMENT_LOG)
        deadline = time.time() + 300
        while time.time() < deadline:
            if os.path.exists(metrics) and len(_steps(metrics)) >= 3:
                with open(log) as f:
                    [pid] = re.findall(r"pretraining task \(pid (\d+)\)", f.read())
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_training)
    killer.start()
    outcome = _run([job])
    killer.join()
    assert killed, "the pretraining ended before it could be killed"
    assert (outcome.done, outcome.failed) == (5, [])
    with open(os.path.join(job.folder, sweep.EXPERIMENT_LOG)) as f:
        assert f.read().count("pretraining task (pid") == 2  # killed, then retried
    assert _steps(os.path.join(job.folder, rundir.METRICS_FILE)) == list(range(1, 9))
    assert _steps(os.path.join(job.folder, rundir.HS_FILE)) == [0, 2, 4, 6, 8]
    assert rundir.list_checkpoints(job.folder) == [2, 4, 6, 8]
    assert rundir.list_resume_states(job.folder) == [8]  # only the last
    assert _writes_per_probe(job.folder) == ["2", "4", "6", "8"]


TINY = ["train.steps=4", "train.save_every=1", "train.batch_size=4", "train.hs_batch=4",
        "model.resnet_depth=10", "model.width=2", "model.layers=1", "data.classes=2",
        "data.download=false", "model.engine=statevector"]


def _cli(out, data_dir, *extra):
    argv = ["--spec", "fig5", "--out", str(out), "--seeds", "1", "--probe-epochs", "2",
            "--data-dir", data_dir, "--probe-every", "2", *extra]
    for item in TINY:
        argv += ["--set", item]
    return argv


def _probed(exp, variant):
    folder = probe_store.probe_dir(str(exp / "runs" / variant / "seed-0"), ProbeConfig(epochs=2))
    return sorted(name for name in os.listdir(folder) if name.endswith(".json"))


def test_a_sweep_on_ray_completes_and_a_rerun_reuses_it(local_ray, data_dir, tmp_path, capsys):
    argv = _cli(tmp_path / "exp", data_dir, "--executor", "ray", "--cpus-per-task", "1",
                "--variants", "quantum", "classical")
    assert experiment.main(argv) == 0
    out = capsys.readouterr().out
    # 2 runs x (pretraining + probes of checkpoints 2 and 4 of 1..4)
    assert "[6/6] done:" in out and "6 of 6 tasks done" in out
    for variant in ("quantum", "classical"):
        folder = str(tmp_path / "exp" / "runs" / variant / "seed-0")
        assert rundir.read_state(folder)["done"]
        assert rundir.list_checkpoints(folder) == [1, 2, 3, 4]
        assert _probed(tmp_path / "exp", variant) == ["step-00002.json", "step-00004.json"]
        for step in (2, 4):
            result = probe_store.read_probe_result(folder, ProbeConfig(epochs=2), step)
            assert result["step"] == step and len(result["test_accuracy_per_epoch"]) == 2
        assert _writes_per_probe(folder) == ["2", "4"]  # each probe written once
    md = (tmp_path / "exp" / "fig5.md").read_text()
    assert "Checkpoints probed: 2, 4." in md
    assert experiment.main(argv) == 0  # a rerun runs nothing
    rerun = capsys.readouterr().out
    assert "0 of 6 tasks done in" in rerun and "6 already done" in rerun
    assert _writes_per_probe(folder) == ["2", "4"]


def _numbers(exp, variant):
    """Everything a run computed: its log rows (losses) and its probe results."""
    run = exp / "runs" / variant / "seed-0"
    with open(run / "metrics.csv", newline="") as f:
        rows = [(r["step"], r["loss"]) for r in csv.DictReader(f)]
    probes = {name: probe_store.read_probe_result(str(run), ProbeConfig(epochs=2), int(name[5:10]))
              for name in _probed(exp, variant)}
    return rows, {k: (v["test_accuracy_per_epoch"], v["train_accuracy_per_epoch"])
                  for k, v in probes.items()}


def test_the_cli_runs_a_spec_as_local_processes_and_inline_alike(data_dir, tmp_path, capsys):
    argv = _cli(tmp_path / "exp", data_dir, "--variants", "classical")
    assert experiment.main(argv) == 0
    assert "1 of 1 runs done" in capsys.readouterr().out
    assert _probed(tmp_path / "exp", "classical") == ["step-00002.json", "step-00004.json"]
    assert rundir.list_checkpoints(str(tmp_path / "exp" / "runs" / "classical" / "seed-0")) == [
        1, 2, 3, 4]
    # The inline executor runs the same code in this process: the same numbers (to float32
    # rounding: this process runs TF's deterministic kernels, the child its default ones).
    inline = _cli(tmp_path / "inline", data_dir, "--variants", "classical", "--executor", "inline")
    assert experiment.main(inline) == 0
    assert "1 of 1 runs done" in capsys.readouterr().out
    (rows, probes), (child_rows, child_probes) = (
        _numbers(tmp_path / "inline", "classical"), _numbers(tmp_path / "exp", "classical"))
    assert [r[0] for r in rows] == [r[0] for r in child_rows] == ["1", "2", "3", "4"]
    assert [float(r[1]) for r in rows] == pytest.approx([float(r[1]) for r in child_rows],
                                                        rel=1e-5)
    assert probes == child_probes


def test_the_inline_executor_runs_one_run_at_a_time(data_dir, tmp_path, capsys):
    argv = _cli(tmp_path / "exp", data_dir, "--executor", "inline", "--jobs", "2")
    assert experiment.main(argv) == 2
    assert "the inline executor runs one run at a time" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_a_ledger_keeps_finished_runs_and_a_fresh_folder_skips_them(data_dir, tmp_path, capsys,
                                                                    monkeypatch):
    """A sweep with --ledger copies each finished run's config and probe results there;
    the same sweep into an empty folder (a fresh machine with only the repository)
    pretrains nothing and reports the same numbers from the ledger."""
    ledger = tmp_path / "ledger"
    argv = _cli(tmp_path / "exp", data_dir, "--variants", "classical", "--ledger", str(ledger),
                "--head", "adam", "lbfgs", "--executor", "inline")
    assert experiment.main(argv) == 0
    entry = ledger / "classical" / "seed-0"
    assert (entry / "config.json").exists() and (entry / "metrics.csv").exists()
    assert not (entry / "checkpoints").exists()  # the ledger holds no checkpoint
    stored = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("step-*.json"))
    assert len(stored) == 4  # steps 2 and 4, two heads
    first = (tmp_path / "exp" / "fig5.md").read_text()
    capsys.readouterr()

    def no_run(*args, **kwargs):
        raise AssertionError("a run the ledger holds was started again")
    monkeypatch.setattr(sweep, "_run", no_run)
    monkeypatch.setattr(sweep, "_pretrain", no_run)
    fresh = _cli(tmp_path / "fresh", data_dir, "--variants", "classical", "--ledger", str(ledger),
                 "--head", "adam", "lbfgs")
    assert experiment.main(fresh) == 0
    assert "0 of 1 runs done" in capsys.readouterr().out
    assert not (tmp_path / "fresh" / "runs").exists()
    again = (tmp_path / "fresh" / "fig5.md").read_text()
    assert again == first
    assert "## Probe head `lbfgs`" in again


def test_stopping_a_local_sweep_interrupts_its_children(tmp_path):
    """Hostile case 8: `kill -INT/-TERM <experiment>` left the children running to the end.
    stop_children sends them SIGINT (a pretraining saves and exits, as on Ctrl-C), starts
    no new one, and the waiting worker sees the child's exit."""
    import sys
    marker = tmp_path / "got-sigint"
    child = [sys.executable, "-c",
             "import signal, sys, time\n"
             f"def stop(*a):\n    open({str(marker)!r}, 'w').close()\n    sys.exit(3)\n"
             "signal.signal(signal.SIGINT, stop)\n"
             "time.sleep(120)\n"]
    errors = []

    def worker():
        try:
            sweep._run(child, str(tmp_path / "log"))
        except RuntimeError as err:
            errors.append(err)

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 30
    while not sweep._CHILDREN and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the child install its handler
    start = time.monotonic()
    sweep.stop_children(grace=20)
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - start < 20
    assert marker.exists() and "exit 3" in str(errors[0])
    with pytest.raises(RuntimeError, match="stopping"):  # and no new child starts
        sweep._run(child, str(tmp_path / "log"))
    sweep._STOPPING.clear()
