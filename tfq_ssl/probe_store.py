"""The probe-result store of a run folder: ``probe/<key>/step-NNNNN.json`` (the result
and the settings it was made with) and ``step-NNNNN.head.npz`` (the trained head).

A key names the protocol, the head and, for settings other than the defaults, a
digest of them, so results made with other settings never stand in for each other.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
from typing import Any

from tfq_ssl import config_io
from tfq_ssl.config import ProbeConfig
from tfq_ssl.errors import ConfigError, CorruptFileError, RunFolderError
from tfq_ssl.files import atomic_write_json, locked, read_json, short_error

PROBE_DIR = "probe"


def probe_key(probe: ProbeConfig) -> str:
    """Folder name of a probe's results under ``probe/``.

    The protocol's name for the default schedule; otherwise the protocol plus a
    digest of the settings, so results of other settings never stand in for them.
    A head other than the paper's Adam head adds its name (``cached-lbfgs``).
    """
    head = "" if probe.head == "adam" else f"-{probe.head}"
    default = dataclasses.replace(ProbeConfig(), protocol=probe.protocol, head=probe.head)
    if probe == default:
        return probe.protocol + head
    settings = config_io.to_dict(probe)
    if probe.head == "adam":  # digests made before heads existed stay what they were
        del settings["head"]
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return f"{probe.protocol}-{digest}{head}"


def probe_dir(run_dir: str, probe: ProbeConfig) -> str:
    return os.path.join(run_dir, PROBE_DIR, probe_key(probe))


def probe_result_path(run_dir: str, probe: ProbeConfig, step: int) -> str:
    """Where the probe result of ``step`` under these settings is stored."""
    return os.path.join(probe_dir(run_dir, probe), f"step-{step:05d}.json")


def probe_head_path(run_dir: str, probe: ProbeConfig, step: int) -> str:
    return probe_result_path(run_dir, probe, step).removesuffix(".json") + ".head.npz"


def probe_locked(run_dir: str, probe: ProbeConfig, step: int) -> contextlib.AbstractContextManager:
    """The lock of one checkpoint's probe result under ``probe`` (see :func:`locked`):
    checkpoints of one run can be probed by several processes at once, each once."""
    return locked(probe_dir(run_dir, probe), f".step-{step:05d}.lock")


def read_probe_result(run_dir: str, probe: ProbeConfig, step: int) -> dict[str, Any] | None:
    """The stored result of ``step`` under exactly these settings, else ``None``.

    Raises:
        CorruptFileError: the stored result is garbled or was made with other settings.
    """
    path = probe_result_path(run_dir, probe, step)
    if not os.path.exists(path):
        return None
    remedy = "delete it (and its .head.npz) and probe again."
    result = read_json(path, remedy)
    try:
        stored = config_io.from_dict(ProbeConfig, result["probe_config"], "probe_config")
    except (KeyError, TypeError, ConfigError):
        raise CorruptFileError(f"{path} does not record its probe settings; {remedy}") from None
    if stored != probe:
        raise CorruptFileError(
            f"{path} was probed with other settings ({config_io.to_dict(stored)}); {remedy}")
    return result


def write_probe_result(run_dir: str, probe: ProbeConfig, step: int, result: dict[str, Any],
                       kernel: Any, bias: Any) -> None:
    """Store a probe result and its head (head first: a result implies its head)."""
    import numpy as np  # noqa: PLC0415

    path = probe_result_path(run_dir, probe, step)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    head = probe_head_path(run_dir, probe, step)
    tmp = f"{head}.tmp-{os.getpid()}.npz"
    np.savez(tmp, kernel=kernel, bias=bias)
    os.replace(tmp, head)
    atomic_write_json(path, result)


def find_probe_head(run_dir: str, protocol: str, step: int) -> str:
    """The head file of ``step`` probed with ``protocol``: the default schedule's, else
    the only other one there is.

    Raises:
        RunFolderError: none, or several with other settings (named).
    """
    default = probe_head_path(run_dir, ProbeConfig(protocol=protocol), step)
    if os.path.exists(default):
        return default
    name = os.path.basename(default)
    others = sorted(glob.glob(os.path.join(glob.escape(os.path.join(run_dir, PROBE_DIR)),
                                           f"{protocol}-*", name)))
    if len(others) == 1:
        return others[0]
    if others:
        raise RunFolderError(
            f"{run_dir} has {len(others)} {protocol} probes of step {step} with other settings "
            f"({', '.join(os.path.dirname(o) for o in others)}) and none with the default "
            f"schedule; probe it with the defaults (python -m train.probe --run {run_dir} "
            f"--checkpoints {step} --protocol {protocol}) or move the others away.")
    raise RunFolderError(
        f"no probe head at {default}; run `python -m train.probe --run {run_dir} "
        f"--checkpoints {step} --protocol {protocol}` first.")


def read_head_file(path: str) -> tuple[Any, Any]:
    """``(kernel, bias)`` of a probe head file."""
    import numpy as np  # noqa: PLC0415

    try:
        with np.load(path) as data:
            return data["kernel"], data["bias"]
    except Exception as err:  # noqa: BLE001 - zip/npz errors of a damaged file
        raise CorruptFileError(f"{path} cannot be read ({short_error(err)}); delete it and "
                               "its .json and probe again.") from None
