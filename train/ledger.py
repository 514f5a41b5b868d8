"""The results ledger: each finished run's small files, kept in the repository.

A sweep's run folders hold checkpoints (hundreds of MB a run) and stay outside the
repository; what the reports need of a run is a few kB: its config, its logs and its
probe results. With a ledger, a sweep copies those files there as each run finishes
(``--ledger DIR``, e.g. ``docs/results/ledger``), and a sweep on any machine skips a run
whose ledger entry already holds the same config and every probe result it needs; the
reports read results from the experiment folder, else from the ledger. So a sweep
interrupted on one machine continues on a fresh one from the repository alone, and no
finished run is computed twice.

An entry mirrors a run folder's layout (``config.json``, ``probe/<key>/step-N.json``
and the head beside it), so :mod:`tfq_ssl.rundir`'s readers read it as they read a run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from tfq_ssl import config_io
from tfq_ssl import rundir
from tfq_ssl import probe_store
from tfq_ssl.config import ProbeConfig, RunConfig
from tfq_ssl.errors import RunFolderError

# The small files of a run folder that a report may read (checkpoints stay out).
RUN_FILES = (rundir.CONFIG_FILE, rundir.STATE_FILE, rundir.METRICS_FILE, rundir.HS_FILE)


def entry(root: str, variant: str, seed: int) -> str:
    """The ledger folder of one (variant, seed)."""
    return os.path.join(root, variant, f"seed-{seed}")


def complete(folder: str, config: RunConfig, probes: Sequence[ProbeConfig],
             steps: Sequence[int]) -> bool:
    """Whether the ledger entry holds ``config`` (but for where its data lived) and every
    probe result."""
    if not os.path.exists(rundir.config_path(folder)):
        return False
    if rundir.read_config(folder) != rundir.without_data_dir(config):
        return False
    return all(probe_store.read_probe_result(folder, p, s) is not None for p in probes for s in steps)


def check_same(folder: str, config: RunConfig) -> None:
    """Writes nothing; raises when the entry holds its variant and seed under another
    config. A ledger keeps one config per (variant, seed): a run with other settings
    would overwrite the entry, and reports would mix its results with the entry's.

    Raises:
        RunFolderError: the entry's config differs from ``config`` (the keys named).
    """
    if not os.path.exists(rundir.config_path(folder)):
        return
    held, wanted = rundir.read_config(folder), rundir.without_data_dir(config)
    if held != wanted:
        raise RunFolderError(
            f"the ledger entry {folder} holds this run with other settings "
            f"({config_io.differences(held, wanted, 'there', 'now')}). A ledger keeps one "
            "config per variant and seed: leave --ledger out when settings change (--set), "
            "or give another ledger folder.")


def _copy(source: str, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp-{os.getpid()}"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def store(run_folder: str, folder: str, probes: Sequence[ProbeConfig],
          steps: Sequence[int]) -> None:
    """Copy a finished run's small files and these probe results into its entry.

    Raises:
        RunFolderError: the run is not finished, a probe result is missing, or the
            entry holds the run under another config.
    """
    if not rundir.read_state(run_folder).get("done"):
        raise RunFolderError(f"{run_folder} has not finished; nothing to keep.")
    check_same(folder, rundir.read_config(run_folder))
    wanted = []
    for p in probes:
        for s in steps:
            if probe_store.read_probe_result(run_folder, p, s) is None:
                raise RunFolderError(
                    f"{run_folder} has no {probe_store.probe_key(p)} probe of step {s}.")
            result = probe_store.probe_result_path(run_folder, p, s)
            wanted += [result, probe_store.probe_head_path(run_folder, p, s)]
    wanted += [os.path.join(run_folder, name) for name in RUN_FILES
               if name != rundir.CONFIG_FILE]
    for source in wanted:
        if os.path.exists(source):
            _copy(source, os.path.join(folder, os.path.relpath(source, run_folder)))
    # The config last (an entry with a config is a complete one), without the data
    # location: that is one machine's path, not part of the result.
    config = rundir.without_data_dir(rundir.read_config(run_folder))
    os.makedirs(folder, exist_ok=True)
    config_io.save_json(config, rundir.config_path(folder))
