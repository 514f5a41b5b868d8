"""Where an experiment's runs execute: local processes (default), a Ray cluster, or
this process.

The executors do the same work per (variant, seed): pretrain the run (resumed if it
was interrupted), then probe each of its checkpoints; what is already done is
reused, so a rerun continues a sweep where it stopped. They differ in where:

- ``local``: ``--jobs N`` threads, each running ``train.pretrain`` then ``train.probe``
  as child processes that log to the run's ``experiment.log`` (a child dies with its
  parent, so a killed sweep leaves no orphan holding a run folder's lock).
- ``inline``: every run in this process, one after the other, with the Ray tasks'
  code: no child process imports TensorFlow again (seconds a run), but a crash of the
  process stops the sweep, and the process grows with every run (TensorFlow keeps
  about 0.15 GB of each tiny run's traced functions): small sweeps and tests.
- ``ray``: every pretraining and every checkpoint's probe is a Ray task with declared
  CPUs and GPUs (one each where the cluster has GPUs); a probe depends on its
  pretraining.
  Tasks run inside Ray workers and write into the experiment folder, which must be
  on a filesystem every worker sees, as must the TFDS data directory. A task that
  fails (an exception, or its worker killed) is retried; a task that still fails is
  reported by name and the others go on. Pretraining tasks get a fresh worker each
  (``max_calls=1``: TensorFlow's memory is returned when it ends); probe workers are
  reused and keep the decoded CIFAR-10 splits between checkpoints.

No run or probe is written twice: a run folder's writes are atomic and resumable,
every write takes the folder's (or the probe result's) lock, and a retried task
first reads what its previous attempt finished.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tfq_ssl import cli, rundir
from tfq_ssl import probe_store
from tfq_ssl import files
from train import ledger
from tfq_ssl.config import (HEADS, PROTOCOLS, ProbeConfig, RunConfig, TrainConfig,
                            check_probe, checkpoint_steps)
from tfq_ssl.errors import UserError

EXPERIMENT_LOG = "experiment.log"
KEEP = ("all", "last", "none")  # what --keep takes: the checkpoints kept once probed


@dataclasses.dataclass(frozen=True)
class Job:
    """One (variant, seed) of a sweep: its name, config, run folder, and which of its
    checkpoints to probe: every ``probe_every``-th one and the last (1: all); with a
    ``ledger`` entry, a run the ledger already holds is skipped and a finished one is
    kept there."""

    name: str
    config: RunConfig
    folder: str
    probe_every: int = 1
    ledger: str | None = None  # its entry in a results ledger (train/ledger.py)
    keep: str = "all"  # checkpoints kept once probed: "all", "last" or "none"

    @property
    def probe_steps(self) -> list[int]:
        return probe_steps(self.config.train, self.probe_every)


def probe_steps(train: TrainConfig, every: int = 1) -> list[int]:
    """Every ``every``-th checkpoint step of ``train`` and always the last one.

    >>> probe_steps(TrainConfig(steps=176, save_every=13), 2)
    [26, 52, 78, 104, 130, 156, 176]
    """
    steps = checkpoint_steps(train)
    chosen = steps[every - 1::every]
    return chosen if chosen and chosen[-1] == steps[-1] else [*chosen, steps[-1]]


@dataclasses.dataclass
class Outcome:
    """What a sweep did: tasks finished (``done``), reused, and failed by name."""

    total: int
    done: int = 0
    reused: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of every entry point that runs a sweep: the probe's protocol and
    epochs (read back by :func:`probe_config`), the TFDS data directory and overrides
    of every run's config."""
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS,
                        help="linear-probe protocol (default cached)")
    parser.add_argument("--probe-epochs", type=cli.positive_int, default=ProbeConfig.epochs,
                        help=f"probe epochs (default {ProbeConfig.epochs})")
    parser.add_argument("--head", dest="heads", nargs="+", default=["adam"], choices=HEADS,
                        help="probe heads, each stored and reported on its own (default adam, "
                             "the paper's; standardized and lbfgs need --protocol cached)")
    cli.add_data_dir(parser, os.environ, "each run's")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override every run's config")


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Where a sweep's runs execute (read back by :func:`execute`)."""
    parser.add_argument("--jobs", type=cli.positive_int, default=1,
                        help="local executor: runs in parallel processes (default 1)")
    parser.add_argument("--executor", choices=("local", "ray", "inline"), default="local",
                        help="local: processes on this machine (default); ray: Ray tasks, on "
                             "the cluster at --address or on a local Ray instance; inline: "
                             "every run in this process, one at a time (small sweeps: no "
                             "process starts TensorFlow again)")
    parser.add_argument("--address", metavar="ADDR",
                        help="ray: the cluster to join (e.g. auto, or HOST:6379); default: "
                             "start a local instance")
    parser.add_argument("--cpus-per-task", type=cli.positive_int, default=2,
                        help="ray: CPUs each task declares and uses (default 2)")
    parser.add_argument("--gpus-per-task", type=cli.non_negative_float, default=None,
                        help="ray: GPUs each task declares (default: 1 where the cluster "
                             "has GPUs, else 0)")
    parser.add_argument("--retries", type=cli.non_negative_int, default=2,
                        help="ray: attempts after the first for a failed task (default 2)")


def check_executor(args: argparse.Namespace) -> None:
    """Refuse executor options that cannot work, in one line, before anything runs."""
    if args.executor == "ray":
        check_address(args.address)
    if args.executor == "inline" and args.jobs > 1:
        raise UserError(f"--jobs {args.jobs}: the inline executor runs one run at a time in "
                        "this process; leave --jobs out, or use --executor local.")


def execute(jobs: Sequence[Job], probe: Probes, args: argparse.Namespace) -> Outcome:
    """Run ``jobs`` on the executor :func:`add_executor_options` chose; print a summary."""
    start = time.perf_counter()
    if args.executor == "ray":
        outcome = run_ray(jobs, probe, args.data_dir, address=args.address,
                          cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task,
                          retries=args.retries)
        what = "tasks"
    elif args.executor == "inline":
        outcome = run_inline(jobs, probe, args.data_dir)
        what = "runs"
    else:
        outcome = run_local(jobs, probe, args.data_dir, args.jobs)
        what = "runs"
    kept = f", {outcome.reused} already done" if outcome.reused else ""
    print(f"{outcome.done} of {outcome.total} {what} done in "
          f"{time.perf_counter() - start:.0f}s{kept}", flush=True)
    return outcome


def add_keep_option(parser: argparse.ArgumentParser, default: str = "all") -> None:
    """``--keep``: the checkpoints a run keeps once its probe results are stored."""
    parser.add_argument("--keep", choices=KEEP, default=default,
                        help="checkpoints a run keeps once its probes are stored: all, last "
                             "(what a device evaluation needs) or none (a long sweep's disk: "
                             f"45 MB a checkpoint); default {default}")


def probe_configs(args: argparse.Namespace) -> list[ProbeConfig]:
    """The probe settings of :func:`add_options`' arguments, one per head (checked)."""
    probes = [ProbeConfig(protocol=args.protocol, epochs=args.probe_epochs, head=head)
              for head in dict.fromkeys(args.heads)]
    for probe in probes:
        check_probe(probe)
    return probes


def probe_config(args: argparse.Namespace) -> ProbeConfig:
    """The first of :func:`probe_configs` (entry points that probe with one head)."""
    return probe_configs(args)[0]


Probes = ProbeConfig | Sequence[ProbeConfig]


def _as_list(probes: Probes) -> list[ProbeConfig]:
    return [probes] if isinstance(probes, ProbeConfig) else list(probes)


def failure_line(prog: str, outcome: Outcome) -> str:
    """What to tell the user about the sweep's failed runs (``outcome.failed``)."""
    return (f"{prog}: {len(outcome.failed)} failed: {', '.join(outcome.failed)}; see their "
            "runs' experiment.log, then rerun to continue.")


def _prepare(job: Job) -> None:
    with files.locked(job.folder):
        rundir.prepare(job.config, job.folder)


def _probe_done(job: Job, probe: ProbeConfig, step: int) -> bool:
    return probe_store.read_probe_result(job.folder, probe, step) is not None


def _progress(outcome: Outcome, n: int, what: str, error: BaseException | None = None) -> None:
    if error is None:
        print(f"[{n}/{outcome.total}] done: {what}", flush=True)
    else:
        outcome.failed.append(what)
        print(f"[{n}/{outcome.total}] FAILED: {what}: {cli.one_line(error)}", flush=True)


# ---------------------------------------------------------------- local processes

def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGKILL when the thread that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_CHILDREN: set[subprocess.Popen] = set()  # the local executor's live child processes
_CHILDREN_LOCK = threading.Lock()
_STOPPING = threading.Event()


def _run(cmd: list[str], log_path: str) -> None:
    if _STOPPING.is_set():
        raise RuntimeError("the sweep is stopping")
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        with _CHILDREN_LOCK:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    preexec_fn=preexec)
            _CHILDREN.add(proc)
        try:
            proc.wait()
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.discard(proc)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log_path}.")


def stop_children(grace: float = 60.0) -> None:
    """Interrupt every live child (SIGINT: a pretraining saves what it has, as on
    Ctrl-C), start no new one, and wait up to ``grace`` seconds before killing."""
    _STOPPING.set()
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for proc in children:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    for proc in children:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a Ray address that cannot be reached, in one line (Ray's client would
    retry for ever). ``None`` (start a local instance) and ``auto`` pass."""
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address {address!r} is not HOST:PORT (or auto); `ray start --head` "
                        "prints the address to use.")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        raise UserError(f"--address {address}: no Ray cluster answers there ({err}); start one "
                        "with `ray start --head`, or leave --address out to start a local "
                        "instance.") from None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def check_ledger(jobs: Sequence[Job]) -> None:
    """Before anything runs or is written: no job may overwrite a ledger entry that
    holds its variant and seed under another config (raises RunFolderError)."""
    for job in jobs:
        if job.ledger is not None:
            ledger.check_same(job.ledger, job.config)


def in_ledger(job: Job, probes: Sequence[ProbeConfig]) -> bool:
    """Whether the job's ledger entry already holds everything the job would make."""
    return job.ledger is not None and ledger.complete(job.ledger, job.config, probes,
                                                      job.probe_steps)


def keep(job: Job, probes: Sequence[ProbeConfig]) -> None:
    """Copy a finished job's results into its ledger entry (if it has one), then drop
    the checkpoints the job does not keep."""
    if job.ledger is not None:
        ledger.store(job.folder, job.ledger, probes, job.probe_steps)
    if job.keep != "all":
        rundir.drop_checkpoints(job.folder, keep_last=job.keep == "last")


def _finished(job: Job, probes: Sequence[ProbeConfig]) -> bool:
    return bool(rundir.read_state(job.folder).get("done")) and all(
        _probe_done(job, p, s) for p in probes for s in job.probe_steps)


def _nothing_to_run(job: Job, probes: Sequence[ProbeConfig]) -> bool:
    """Whether the ledger holds the run, or its folder holds it finished and probed
    (then kept: its checkpoints may be dropped); otherwise its folder is prepared."""
    if in_ledger(job, probes):
        return True
    _prepare(job)
    if _finished(job, probes):
        keep(job, probes)
        return True
    return False


def _local_job(job: Job, probes: list[ProbeConfig], data_dir: str | None) -> str | None:
    """Pretrain and probe one run in child processes, reusing whatever is done; where
    its results are, or ``None`` when nothing was left to run (:func:`_nothing_to_run`)."""
    if _nothing_to_run(job, probes):
        return None
    log = os.path.join(job.folder, EXPERIMENT_LOG)
    data = ["--data-dir", data_dir] if data_dir else []
    python = sys.executable
    _run([python, "-m", "train.pretrain", "--config", rundir.config_path(job.folder),
          "--out", job.folder, "--verbose", "2", *data], log)
    # One probe process for every head (and protocol/epochs): the splits are decoded
    # and each checkpoint's features computed once.
    by_settings: dict[tuple[str, int], list[str]] = {}
    for probe in probes:
        if not all(_probe_done(job, probe, s) for s in job.probe_steps):
            by_settings.setdefault((probe.protocol, probe.epochs), []).append(probe.head)
    for (protocol, epochs), heads in by_settings.items():
        _run([python, "-m", "train.probe", "--run", job.folder, "--protocol", protocol,
              "--epochs", str(epochs), "--head", *heads,
              "--checkpoints", ",".join(map(str, job.probe_steps)), *data], log)
    keep(job, probes)
    return job.folder


def _finished_job(outcome: Outcome, n: int, job: Job, probes: list[ProbeConfig],
                  folder: str | None) -> None:
    if folder is None:
        outcome.reused += 1
        where = f"in the ledger {job.ledger}" if in_ledger(job, probes) else job.folder
        _progress(outcome, n, f"{job.name} (already done: {where})")
    else:
        outcome.done += 1
        _progress(outcome, n, f"{job.name} -> {folder}")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """``kill PID`` stops the sweep as Ctrl-C does (KeyboardInterrupt: a pretraining
    saves what it has, the local executor's children are interrupted too)."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@_sigterm_interrupts()
def run_local(jobs: Sequence[Job], probe: Probes, data_dir: str | None,
              parallel: int) -> Outcome:
    """Every job as pretrain + probe child processes (one probe per head), ``parallel``
    at a time."""
    outcome = Outcome(total=len(jobs))
    probes = _as_list(probe)
    _STOPPING.clear()
    pool = ThreadPoolExecutor(parallel)
    try:
        futures = [pool.submit(_local_job, job, probes, data_dir) for job in jobs]
        for n, (job, future) in enumerate(zip(jobs, futures), start=1):
            try:
                _finished_job(outcome, n, job, probes, future.result())
            except (RuntimeError, UserError, OSError) as err:
                _progress(outcome, n, job.name, err)
    except KeyboardInterrupt:
        stop_children()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcome


# ------------------------------------------------------------ in this process

def _inline_job(job: Job, probes: list[ProbeConfig], data_dir: str | None) -> str | None:
    """:func:`_local_job`'s work in this process: the Ray tasks' pretraining and probe
    code, run here one after the other."""
    from models.run import Run  # noqa: PLC0415

    if _nothing_to_run(job, probes):
        return None
    _pretrain(job.folder, data_dir)
    todo = [p for p in probes if not all(_probe_done(job, p, s) for s in job.probe_steps)]
    if todo:
        run = Run(job.folder)
        with _task_log(job.folder):
            for _ in run.probe(job.probe_steps, todo, splits=_splits(run, data_dir)):
                pass
    keep(job, probes)
    return job.folder


@_sigterm_interrupts()
def run_inline(jobs: Sequence[Job], probe: Probes, data_dir: str | None) -> Outcome:
    """Every job in this process, one after the other: no child process imports
    TensorFlow again, so small sweeps (and the tests) start at once. A run that raises
    is reported by name, its traceback goes to its experiment.log, and the rest go on;
    a crash of the process itself stops the sweep (the local executor isolates runs)."""
    import tf_keras  # noqa: PLC0415

    outcome = Outcome(total=len(jobs))
    probes = _as_list(probe)
    for n, job in enumerate(jobs, start=1):
        try:
            folder = _inline_job(job, probes, data_dir)
        except Exception as err:  # noqa: BLE001 - reported by name; the sweep goes on
            if os.path.isdir(job.folder):
                with open(os.path.join(job.folder, EXPERIMENT_LOG), "a") as log:
                    traceback.print_exc(file=log)
            _progress(outcome, n, job.name, err)
            continue
        finally:
            tf_keras.backend.clear_session()  # the run's graphs and models go
        _finished_job(outcome, n, job, probes, folder)
    return outcome


# ---------------------------------------------------------------------- Ray tasks

@contextlib.contextmanager
def _task_log(folder: str) -> Iterator[None]:
    """Send the task's progress lines (INFO) to the run's experiment.log."""
    handler = logging.FileHandler(os.path.join(folder, EXPERIMENT_LOG))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in cli.PROGRESS_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


def _use_cpus(cpus: int) -> None:
    """TensorFlow uses the task's declared CPUs (before its first op in this worker)."""
    import tensorflow as tf  # noqa: PLC0415

    with contextlib.suppress(RuntimeError):  # already set: a reused worker
        tf.config.threading.set_intra_op_parallelism_threads(cpus)
        tf.config.threading.set_inter_op_parallelism_threads(min(cpus, 2))


def _pretrain(folder: str, data_dir: str | None) -> int:
    from models.simclr_fit import pretrain  # noqa: PLC0415 - TensorFlow loads here

    config = rundir.read_config(folder)
    if data_dir:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                      data_dir=data_dir))
    with _task_log(folder):
        logging.getLogger(__name__).info("pretraining task (pid %d)", os.getpid())
        return int(pretrain(config, folder, verbose=0)["steps"])


def pretrain_task(folder: str, data_dir: str | None, cpus: int) -> int:
    """Ray task: pretrain (or resume, or find finished) the run in ``folder``."""
    _use_cpus(cpus)
    return _pretrain(folder, data_dir)


_SPLITS: dict[tuple, tuple] = {}  # per process: decoded (train, test) arrays by data settings


def _splits(run: Any, data_dir: str | None) -> tuple:
    """``run``'s decoded (train, test) arrays, decoded once per process and data settings."""
    from models.linear_probe import split_arrays  # noqa: PLC0415

    data = run.config.data
    key = (data_dir or data.data_dir, data.classes, data.remap_labels, data.download)
    if key not in _SPLITS:
        _SPLITS[key] = tuple(split_arrays(d) for d in run.splits(data_dir))
    return _SPLITS[key]


def probe_task(_pretrained: int, folder: str, step: int, probe: dict[str, Any],
               data_dir: str | None, cpus: int) -> float:
    """Ray task: probe one checkpoint (after its pretraining: ``_pretrained``)."""
    _use_cpus(cpus)
    from models.run import Run  # noqa: PLC0415

    run = Run(folder)
    probe_config = ProbeConfig(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in probe.items()})
    with _task_log(folder):
        splits = (_splits(run, data_dir)
                  if probe_store.read_probe_result(folder, probe_config, step) is None else None)
        [(_, [result])] = run.probe([step], [probe_config], splits=splits)
    return float(result["final_test_accuracy"])


def runtime_env() -> dict[str, Any]:
    """What Ray workers need to import this project: its root on ``PYTHONPATH`` (the
    checkout must be at the same path on every node, e.g. on the shared filesystem)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {"env_vars": {"PYTHONPATH": root, "TF_USE_LEGACY_KERAS": "1",
                         "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}}


def _ray_error(err: BaseException) -> BaseException:
    """The task's own exception inside Ray's wrapper, where there is one."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def run_ray(jobs: Sequence[Job], probe: Probes, data_dir: str | None, *,
            address: str | None, cpus_per_task: int, gpus_per_task: float | None,
            retries: int, on_event: Callable[[str], None] | None = None) -> Outcome:
    """Every pretraining and every checkpoint's probe as Ray tasks.

    Args:
        jobs: the sweep's runs.
        probe: the probe settings, or several (one probe task per head and checkpoint).
        data_dir: TFDS data directory (every worker must see it), default: the runs'.
        address: a running cluster (``ray start --head`` prints it; ``"auto"`` finds a
            local one); ``None`` starts a local instance on this machine.
        cpus_per_task: CPUs each task declares (TensorFlow uses that many threads).
        gpus_per_task: GPUs each task declares; ``None``: 1 where the cluster has
            GPUs, else 0.
        retries: attempts after the first, for a task that raises or whose worker dies.
        on_event: called with ``"submitted"`` once every task is submitted (tests).
    """
    import ray  # noqa: PLC0415 - only this executor needs Ray

    if not ray.is_initialized():
        kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                      configure_logging=False, runtime_env=runtime_env())
        if address is None:
            ray.init(**kwargs)
        else:
            ray.init(address=address, **kwargs)
    if gpus_per_task is None:
        gpus_per_task = 1.0 if ray.cluster_resources().get("GPU", 0) else 0.0
    common = dict(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=retries,
                  retry_exceptions=True)
    pretrain_remote = ray.remote(max_calls=1, **common)(pretrain_task)
    probe_remote = ray.remote(**common)(probe_task)
    pending: dict[Any, str] = {}
    outcome = Outcome(total=0)
    probes = _as_list(probe)
    for job in jobs:
        probe_tasks = [(p, s) for p in probes for s in job.probe_steps]
        outcome.total += 1 + len(probe_tasks)
        if _nothing_to_run(job, probes):
            outcome.reused += 1 + len(probe_tasks)
            continue
        pretrained = pretrain_remote.options(name=f"pretrain {job.name}").remote(
            job.folder, data_dir, cpus_per_task)
        pending[pretrained] = f"pretrain {job.name}"
        for p, step in probe_tasks:
            if _probe_done(job, p, step):
                outcome.reused += 1
                continue
            head = "" if p.head == "adam" else f" ({p.head} head)"
            what = f"probe {job.name} step {step}{head}"
            ref = probe_remote.options(name=what).remote(
                pretrained, job.folder, step, dataclasses.asdict(p), data_dir, cpus_per_task)
            pending[ref] = what
    if outcome.reused:
        print(f"[{outcome.reused}/{outcome.total}] already done (kept)", flush=True)
    if on_event:
        on_event("submitted")
    n = outcome.reused
    while pending:
        [ready], _ = ray.wait(list(pending), num_returns=1)
        what = pending.pop(ready)
        n += 1
        try:
            ray.get(ready)
            outcome.done += 1
            _progress(outcome, n, what)
        except Exception as err:  # noqa: BLE001 - Ray wraps the task's exception
            _progress(outcome, n, what, _ray_error(err))
    for job in jobs:  # what finished goes to the ledger; unneeded checkpoints go
        if not in_ledger(job, probes) and _finished(job, probes):
            keep(job, probes)
    return outcome
