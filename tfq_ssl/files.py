"""Files that survive a crash: folder locks, atomic writes, and append-only logs whose
torn last line (what a kill mid-write leaves) is dropped.

Every writer of a run folder, an experiment folder or a device-evaluation folder uses
these; nothing here knows what the files mean.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import fcntl
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tfq_ssl.errors import CorruptFileError, RunLockedError

LOCK_FILE = ".lock"


def short_error(err: BaseException) -> str:
    """An exception's message on one line of at most 200 characters (for error lines
    that quote a library's error about a damaged file)."""
    return " ".join(str(err).split())[:200] or type(err).__name__


# --------------------------------------------------------------------------- locks


_held: dict[str, tuple[int, int]] = {}  # real path -> (fd, depth): re-entrant per process


@contextlib.contextmanager
def locked(folder: str, name: str = LOCK_FILE) -> Iterator[None]:
    """Hold the folder's exclusive lock (created if needed) for the block.

    The lock is an ``flock`` on ``folder/<name>`` (default ``.lock``: the whole
    folder), which records the holder's PID. The
    kernel drops it when the holder dies, so a lock left by a killed process is taken
    over at once. Re-entrant within one process.

    Raises:
        RunLockedError: another live process holds it; the message names its PID.
    """
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    key = os.path.realpath(path)
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[key]
            _held[key] = (fd, depth - 1)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        raise RunLockedError(
            f"{folder} is in use by process {holder} (lock {path}); wait for it to "
            "finish, stop it, or choose another folder."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[key] = (fd, 1)
    try:
        yield
    finally:
        del _held[key]
        os.close(fd)  # releases the flock


# ---------------------------------------------------------------- small files

def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: str, data: Any, indent: int = 1, sort_keys: bool = False) -> None:
    """``atomic_write_text`` of ``data`` as indented JSON."""
    atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")


def read_json(path: str, remedy: str) -> Any:
    """A JSON file a run wrote; a garbled one raises :class:`CorruptFileError` with ``remedy``."""
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err}); {remedy}") from None




# ---------------------------------------------------------------- step logs

@dataclasses.dataclass(frozen=True)
class LogDamage:
    """The first damaged line of a step log.

    Attributes:
        path: the file.
        line: its line number (1 is the header).
        text: the line as found (``""`` for a missing row).
        last_good_step: the step of the last sound row before it (-1, or 0 for a
            log of steps 1, 2, ...: none).
    """

    path: str
    line: int
    text: str
    last_good_step: int

    def describe(self) -> str:
        what = (f"line {self.line} is garbled ({self.text[:60]!r})" if self.text
                else f"the rows after step {self.last_good_step} are missing")
        return f"{self.path}: {what}"


class StepCSV:
    """A CSV file of rows keyed by ``step``, appended to across resumes.

    Args:
        path: the file.
        fields: columns after ``step``.
        consecutive: rows are steps 1, 2, 3, ... (a gap is damage too).
    """

    def __init__(self, path: str, fields: Sequence[str], consecutive: bool = False) -> None:
        self.path = path
        self.fields = ["step", *fields]
        self.consecutive = consecutive

    def _read(self) -> tuple[list[dict[str, str]], LogDamage | None, bool]:
        """The sound rows before the first damaged line, that damage, and whether the
        damage is only a torn last line (what a kill mid-write leaves)."""
        if not os.path.exists(self.path):
            return [], None, False
        with open(self.path, newline="", errors="replace") as f:
            lines = f.read().splitlines()
        rows: list[dict[str, str]] = []
        last = 0 if self.consecutive else -1  # consecutive logs start at step 1
        for n, row in enumerate(csv.DictReader(lines), start=2):
            try:
                step = int(row["step"])
                if None in row.values() or None in row:
                    raise ValueError("wrong number of columns")
                if self.consecutive and step != last + 1:
                    raise ValueError("out of order")
            except (KeyError, TypeError, ValueError):
                return rows, LogDamage(self.path, n, lines[n - 1], last), n == len(lines)
            rows.append(row)
            last = step
        return rows, None, False

    def damage(self) -> LogDamage | None:
        """The first garbled, torn or out-of-order line, if any."""
        return self._read()[1]

    def rows(self) -> list[dict[str, str]]:
        """Every row; a torn last line (a kill mid-write) is dropped.

        Raises:
            CorruptFileError: any other line is garbled (names the line).
        """
        rows, damage, torn = self._read()
        if damage is not None and not torn:
            raise CorruptFileError(
                f"{damage.describe()}. Rerunning train.pretrain on the run recomputes an "
                "unfinished run's steps from there; a finished run keeps its checkpoints "
                "and probes, and only a retraining into a new folder recomputes its rows.")
        return rows

    def truncate_after(self, step: int) -> None:
        """Drop rows past ``step`` (they belong to steps a resume will redo)."""
        if not os.path.exists(self.path):
            return
        rows, damage, _ = self._read()
        if damage is not None and damage.last_good_step < step:
            raise CorruptFileError(f"{damage.describe()}; the rows up to step {step} are "
                                   "needed (resume from before the damage).")
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, self.fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(r for r in rows if int(r["step"]) <= step)
        atomic_write_text(self.path, text.getvalue())

    def append(self, row: dict[str, Any]) -> None:
        new = not os.path.exists(self.path)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
            f.flush()


# ---------------------------------------------------------------- JSON lines

def read_jsonl(path: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file that is only ever appended to.

    A crash can only tear the line being written (records are appended whole and
    flushed), so an unparsable *last* line is cut off the file and a whole last record
    whose newline was lost gets it back; any other unparsable line is an error.

    Raises:
        CorruptFileError: a line before the last is not valid JSON (named).
    """
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\n")
    records: list[dict[str, Any]] = []
    good = 0  # bytes up to the end of the last good line
    for n, line in enumerate(lines):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if n == len(lines) - 1:
                with open(path, "r+b") as f:
                    f.truncate(good)
                return records
            raise CorruptFileError(f"{path}: line {n + 1} is not valid JSON; fix or remove it.") from None
        good += len(line) + 1
    if raw and not raw.endswith(b"\n"):
        with open(path, "ab") as f:
            f.write(b"\n")
    return records


def append_jsonl(path: str, records: Iterable[dict[str, Any]]) -> None:
    """Append ``records`` one line each, each flushed to disk before the next."""
    with open(path, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
