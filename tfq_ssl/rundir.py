"""The run folder: its layout, config and state, checkpoints and resume states.

Locks, atomic writes and the step-log reader are in :mod:`tfq_ssl.files`; the probe
results under ``probe/`` in :mod:`tfq_ssl.probe_store`.

A pretraining run folder holds::

    config.json              the resolved RunConfig (written once, before training)
    checkpoints/step-NNNNN.* the model's weights every ``save_every`` steps and at the
                             last step (what probes and the converter load); atomic
    checkpoints/resume/step-NNNNN.*  weights and optimiser state of the newest save
                             point, what a resume loads (a finished run keeps its
                             last: a lost final checkpoint is rewritten from it)
    metrics.csv              one row per step: loss, contrastive accuracy, seconds
    hilbert_schmidt.csv      quantum runs: Hilbert–Schmidt metrics at checkpoints
    state.json               record of the finished run (steps, seconds)
    tensorboard/             scalars for TensorBoard
    probe/<key>/step-NNNNN.json and .head.npz   linear-probe results and heads
    .lock                    held by the one process writing into the folder

Write order makes every state a kill can leave resumable to the complete record:
a step's metrics row, then (at save points) its Hilbert–Schmidt row, then its resume
state, then its weights checkpoint, then the previous resume state is removed. A
resume starts from the newest resume state that loads (or, in run folders written
before resume states existed, from the newest checkpoint, which then holds the
optimiser state too), drops log rows past it, and redoes the rest, so every step
has exactly one row and every checkpoint exists. Only one optimiser state is kept:
a run folder holds one optimiser state, not one per checkpoint.
Nothing here imports TensorFlow until a checkpoint is touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import logging
import os
import shutil
from typing import Any

from tfq_ssl import config_io
from tfq_ssl.config import RunConfig
from tfq_ssl.errors import ConfigError, CorruptFileError, RunFolderError
from tfq_ssl.files import LogDamage, StepCSV, atomic_write_json, short_error

CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.csv"
HS_FILE = "hilbert_schmidt.csv"
TENSORBOARD_DIR = "tensorboard"
CORRUPT_DIR = "corrupt"
SUPERSEDED_DIR = "superseded"
RESUME_DIR = "resume"  # under checkpoints/
TMP_PREFIX = ".tmp-"  # temporary files of a checkpoint being written

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- config / state

def config_path(run_dir: str) -> str:
    return os.path.join(run_dir, CONFIG_FILE)


def is_run_folder(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a pretraining run (its ``config.json``)."""
    return os.path.isfile(config_path(run_dir))


def read_config(run_dir: str) -> RunConfig:
    """The run's saved config.

    Raises:
        RunFolderError: ``run_dir`` is no run folder.
        CorruptFileError: its ``config.json`` is garbled.
    """
    path = config_path(run_dir)
    if not os.path.isfile(path):
        raise RunFolderError(f"{run_dir} is not a run folder (no {CONFIG_FILE}); pretrain into it first.")
    try:
        return config_io.load_json(path)
    except ConfigError as err:
        raise CorruptFileError(
            f"{err} This file records the run's settings: restore it from a copy, or "
            "pretrain into a new folder."
        ) from None


def without_data_dir(config: RunConfig) -> RunConfig:
    """``config`` with no data location: where the data lives is not part of a run."""
    return dataclasses.replace(config, data=dataclasses.replace(config.data, data_dir=None))


def check_same_run(config: RunConfig, run_dir: str) -> RunConfig | None:
    """The config stored in ``run_dir`` (``None`` if it holds no run yet), after checking
    that ``config`` is that run's, but for where the data lives. Writes nothing.

    Raises:
        RunFolderError: ``run_dir`` holds a run of another config (the keys named).
    """
    if not is_run_folder(run_dir):
        return None
    stored = read_config(run_dir)
    existing, wanted = without_data_dir(stored), without_data_dir(config)
    if existing != wanted:
        diff = config_io.differences(existing, wanted, "there", "now")
        raise RunFolderError(
            f"{run_dir} already holds a run with a different config ({diff}). Rerun "
            "with the same settings to resume it, or choose a new --out."
        )
    return stored


def prepare(config: RunConfig, run_dir: str) -> None:
    """Create the run folder and save the config; refuse a folder of another run.

    A rerun may move the data: a ``data.data_dir`` given now replaces the stored one
    (``None``, TFDS' default, keeps it), so later commands find the data where it is.
    """
    stored = check_same_run(config, run_dir)  # before anything is written
    os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), exist_ok=True)
    if stored is None:
        config_io.save_json(config, config_path(run_dir))
    elif config.data.data_dir not in (None, stored.data.data_dir):
        config_io.save_json(config, config_path(run_dir))
        log.info("%s: the data location is now %r (was %r).", run_dir,
                 config.data.data_dir, stored.data.data_dir)


def read_state(run_dir: str) -> dict[str, Any]:
    """``state.json`` of a run (``{}`` if absent or garbled: it is only a record)."""
    path = os.path.join(run_dir, STATE_FILE)
    try:
        with open(path) as f:
            state = json.load(f)
        return state if isinstance(state, dict) else {}
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("%s is garbled; it is rewritten from the checkpoints.", path)
        return {}


def write_state(run_dir: str, state: dict[str, Any]) -> None:
    atomic_write_json(os.path.join(run_dir, STATE_FILE), state)


# ---------------------------------------------------------------- checkpoints

def checkpoint_prefix(run_dir: str, step: int) -> str:
    """Weights checkpoint prefix of ``step`` in a run folder."""
    return os.path.join(run_dir, CHECKPOINT_DIR, f"step-{step:05d}")


def resume_prefix(run_dir: str, step: int) -> str:
    """Resume-state prefix (weights and optimiser state) of ``step`` in a run folder."""
    return os.path.join(run_dir, CHECKPOINT_DIR, RESUME_DIR, f"step-{step:05d}")


def _steps_in(folder: str) -> list[int]:
    if not os.path.isdir(folder):
        return []
    steps = []
    for name in os.listdir(folder):
        stem = name[len("step-"):-len(".index")]
        if name.startswith("step-") and name.endswith(".index") and stem.isdigit():
            steps.append(int(stem))
    return sorted(steps)


def list_checkpoints(run_dir: str) -> list[int]:
    """Steps that have a complete saved checkpoint, ascending."""
    return _steps_in(os.path.join(run_dir, CHECKPOINT_DIR))


def list_resume_states(run_dir: str) -> list[int]:
    """Steps that have a complete resume state, ascending (one, except after a kill)."""
    return _steps_in(os.path.join(run_dir, CHECKPOINT_DIR, RESUME_DIR))


def select_checkpoints(run_dir: str, spec: str) -> list[int]:
    """Steps named by ``spec``: ``all``, ``latest`` or a comma-separated list like ``13,26``.

    Raises:
        RunFolderError: the run has no checkpoints. ConfigError: a bad or absent step.
    """
    available = list_checkpoints(run_dir)
    if not available:
        raise RunFolderError(f"{run_dir} has no checkpoints; pretrain it first.")
    if spec == "all":
        return available
    if spec == "latest":
        return available[-1:]
    try:
        steps = [int(s) for s in spec.split(",")]
    except ValueError:
        raise ConfigError(f"--checkpoints must be all, latest or steps like 13,26; got {spec!r}.") from None
    missing = sorted(set(steps) - set(available))
    if missing:
        raise ConfigError(f"no checkpoints for steps {missing}; available: {available}.")
    return steps


def _files(prefix: str) -> list[str]:
    return sorted(glob.glob(glob.escape(prefix) + ".data-*")) + [prefix + ".index"]


def _save_atomic(model: Any, prefix: str) -> str:
    """``model.save_weights`` to ``prefix`` via a temporary prefix, ``.index`` renamed last."""
    folder = os.path.dirname(prefix)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{os.path.basename(prefix)}")
    model.save_weights(tmp)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder, "checkpoint"))  # TF's pointer to the temporary name
    for path in _files(tmp):
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(path, prefix + path[len(tmp):])
    return prefix


def save_checkpoint(model: Any, run_dir: str, step: int) -> str:
    """Save the weights checkpoint of ``step``, atomically.

    Args:
        model: a model that tracks only its weights (not compiled with an optimiser:
            ``save_weights`` of a compiled model also writes the optimiser state).

    TensorFlow writes to a temporary prefix; the data shards are then renamed into
    place and the ``.index`` last, so a checkpoint whose ``.index`` exists is whole.
    """
    return _save_atomic(model, checkpoint_prefix(run_dir, step))


def save_resume_state(model: Any, run_dir: str, step: int) -> str:
    """Save the compiled model's weights and optimiser state at ``step``, atomically.

    Older resume states stay until :func:`drop_resume_states` (after the step's
    weights checkpoint is written), so a kill in between leaves one that loads.
    """
    return _save_atomic(model, resume_prefix(run_dir, step))


def drop_resume_states(run_dir: str, keep: int | None = None) -> None:
    """Remove every resume state but ``keep``'s (all of them for ``None``), and the
    resume folder if that leaves it empty."""
    for step in list_resume_states(run_dir):
        if step != keep:
            for path in _files(resume_prefix(run_dir, step))[::-1]:  # .index first
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
    with contextlib.suppress(OSError):  # not empty, or absent
        os.rmdir(os.path.join(run_dir, CHECKPOINT_DIR, RESUME_DIR))


def drop_checkpoints(run_dir: str, keep_last: bool) -> list[int]:
    """Delete a finished run's checkpoints (all, or all but the last) and resume state,
    once nothing needs them (their probes are stored): a long sweep's disk.

    ``state.json`` records the dropped steps first, so a rerun of the run's
    pretraining knows it finished instead of training it again.

    Returns:
        The dropped steps.
    """
    state = read_state(run_dir)
    if not state.get("done"):
        raise RunFolderError(f"{run_dir} has not finished; its checkpoints are still needed.")
    steps = list_checkpoints(run_dir)
    dropped = steps[:-1] if keep_last else steps
    if not dropped and not list_resume_states(run_dir):
        return []
    write_state(run_dir, {**state, "checkpoints_dropped": sorted(
        {*state.get("checkpoints_dropped", []), *dropped})})
    drop_resume_states(run_dir)
    for step in dropped:
        for path in _files(checkpoint_prefix(run_dir, step))[::-1]:  # .index first
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    return dropped


def clean_partial_checkpoints(run_dir: str) -> None:
    """Remove temporary files of checkpoints whose writer was killed."""
    # TensorFlow itself writes shards into a "<prefix>_temp" folder before merging them.
    for folder in (os.path.join(run_dir, CHECKPOINT_DIR),
                   os.path.join(run_dir, CHECKPOINT_DIR, RESUME_DIR)):
        for path in glob.glob(os.path.join(folder, TMP_PREFIX + "*")):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


def has_optimizer_state(prefix: str) -> bool:
    """Whether a checkpoint holds optimiser slots (resume states, and every checkpoint
    of run folders written before weights-only checkpoints)."""
    import tensorflow as tf  # noqa: PLC0415

    return any(name.startswith("optimizer/")
               for name in tf.train.load_checkpoint(prefix).get_variable_to_shape_map())


def verify_checkpoint(prefix: str) -> None:
    """Read every tensor of a checkpoint.

    Raises:
        CorruptFileError: a file of it is missing, truncated or garbled (named).
    """
    import tensorflow as tf  # noqa: PLC0415 - only checkpoint work needs TensorFlow

    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as err:  # noqa: BLE001 - TF raises several types for a bad file
        raise CorruptFileError(f"checkpoint {prefix}.index cannot be read ({short_error(err)})") from None
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as err:  # noqa: BLE001
        data = ", ".join(os.path.basename(p) for p in _files(prefix)[:-1]) or "its .data file"
        raise CorruptFileError(f"checkpoint {prefix} ({data}) cannot be read ({short_error(err)})") from None


def _move_aside(run_dir: str, step: int, subfolder: str, prefix: str | None = None) -> str:
    prefix = prefix or checkpoint_prefix(run_dir, step)
    target = os.path.join(run_dir, CHECKPOINT_DIR, subfolder)
    os.makedirs(target, exist_ok=True)
    name = os.path.basename(prefix)
    if os.path.dirname(prefix) != os.path.join(run_dir, CHECKPOINT_DIR):
        name = f"{RESUME_DIR}-{name}"
    for path in _files(prefix):
        if os.path.exists(path):
            shutil.move(path, os.path.join(target, name + path[len(prefix):]))
    return target


@dataclasses.dataclass(frozen=True)
class ResumePoint:
    """Where a run continues.

    Attributes:
        step: the step it continues from (0: afresh).
        state: the checkpoint holding the weights and optimiser state of ``step``
            (``None`` for step 0, and for a finished run).
    """

    step: int
    state: str | None


def _good_checkpoints(run_dir: str) -> tuple[list[int], int | None]:
    """Weights checkpoints in order, up to the first that does not load (moved aside
    to ``corrupt/``, and every later one to ``superseded/``); and that one's step."""
    steps = list_checkpoints(run_dir)
    for n, step in enumerate(steps):
        try:
            verify_checkpoint(checkpoint_prefix(run_dir, step))
        except CorruptFileError as err:
            where = _move_aside(run_dir, step, CORRUPT_DIR)
            for later in steps[n + 1:]:
                _move_aside(run_dir, later, SUPERSEDED_DIR)
            log.warning("%s; moved to %s%s.", err, where,
                        f" (later checkpoints moved to {SUPERSEDED_DIR}/)" if steps[n + 1:] else "")
            return steps[:n], step
    return steps, None


def _good_resume_state(run_dir: str, at_most: int | None = None) -> int | None:
    """The newest resume state that loads, at step ``at_most`` or before; corrupt ones
    are moved to ``corrupt/``, later ones to ``superseded/``."""
    for step in reversed(list_resume_states(run_dir)):
        prefix = resume_prefix(run_dir, step)
        if at_most is not None and step > at_most:
            _move_aside(run_dir, step, SUPERSEDED_DIR, prefix)
            continue
        try:
            verify_checkpoint(prefix)
            return step
        except CorruptFileError as err:
            where = _move_aside(run_dir, step, CORRUPT_DIR, prefix)
            log.warning("%s; moved to %s.", err, where)
    return None


def resume_point(run_dir: str, total_steps: int, at_most: int | None = None) -> ResumePoint:
    """Where a run of ``total_steps`` continues, after setting aside what does not load.

    A finished run (a loadable checkpoint at ``total_steps``) continues nowhere. Else the
    newest loadable resume state is the point; in a run folder written before resume
    states existed, the newest checkpoint with optimiser state is. Checkpoints past
    the point are moved to ``checkpoints/superseded/`` (never deleted), since training
    redoes those steps; a corrupt file goes to ``checkpoints/corrupt/``.

    Args:
        at_most: continue from this step or earlier, finished or not (the steps after
            it are redone: their log rows are damaged). Resume states past it are
            moved to ``superseded/`` too.
    """
    clean_partial_checkpoints(run_dir)
    good, lost = _good_checkpoints(run_dir)
    if at_most is None and good and good[-1] >= total_steps:
        return ResumePoint(good[-1], None)
    if lost is not None:  # a resume state past the lost checkpoint would not redo it
        at_most = lost if at_most is None else min(at_most, lost)
    state = _good_resume_state(run_dir, at_most)
    older = [s for s in good if at_most is None or s <= at_most]
    if state is None and older and has_optimizer_state(checkpoint_prefix(run_dir, older[-1])):
        state_prefix = checkpoint_prefix(run_dir, older[-1])
        step = older[-1]
    else:
        step = state or 0
        state_prefix = resume_prefix(run_dir, step) if state else None
    later = [s for s in good if s > step]
    for s in later:
        _move_aside(run_dir, s, SUPERSEDED_DIR)
    if later:
        log.warning("checkpoints %s are past the point the run resumes from (step %d); "
                    "moved to %s/ and recomputed.", later, step, SUPERSEDED_DIR)
    return ResumePoint(step, state_prefix)


# ---------------------------------------------------------------- step logs

def log_damage(run_dir: str) -> LogDamage | None:
    """The earliest damage in the run's step logs (``metrics.csv``, one row per step,
    and ``hilbert_schmidt.csv``), if any."""
    found = [StepCSV(os.path.join(run_dir, name), (), consecutive).damage()
             for name, consecutive in ((METRICS_FILE, True), (HS_FILE, False))]
    found = [d for d in found if d is not None]
    return min(found, key=lambda d: d.last_good_step) if found else None


def logged_seconds(run_dir: str) -> float:
    """The training time the run's ``metrics.csv`` records (the sum of its step times)."""
    rows, _, _ = StepCSV(os.path.join(run_dir, METRICS_FILE), ())._read()
    total = 0.0
    for row in rows:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            total += float(row["seconds"])
    return round(total, 2)

