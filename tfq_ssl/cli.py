"""Command-line plumbing shared by the entry points (``train/``, ``convert/``, ``bench/``).

Nothing here reads ``sys.argv`` or the environment: the entry points hand their
arguments in. It gives them one way to fail: a single ``prog: error: ...`` line on
stderr and exit status 2, never a traceback, for every :class:`UserError`, invalid
option or interrupted run. Any other exception is a bug, or an error inside a
library such as TensorFlow, and keeps its traceback (exit status 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tfq_ssl.errors import ConfigError, RunFolderError, UserError

USAGE_ERROR = 2
INTERRUPTED = 130
PROGRESS_LOGGERS = ("tfq_ssl", "models", "train", "convert", "bench")

# Set by Ctrl-C during :func:`run`, also where the KeyboardInterrupt it raises is
# swallowed (Python ignores exceptions in garbage-collection callbacks, and TensorFlow
# has one): long loops check it (``callbacks.StopWhenInterrupted``), and ``run``
# reports the interrupt even if ``main`` ran on to its end.
interrupted = threading.Event()


def _on_sigint(signum: int, frame: object) -> None:
    interrupted.set()
    raise KeyboardInterrupt


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (no usage block) and exit with status 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # noqa: D102 - argparse's hook
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def describe(doc: str | None) -> tuple[str, str]:
    """``(description, epilog)`` from a module docstring: its first paragraph, then the rest."""
    text = (doc or "").strip()
    first, _, rest = text.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def int_at_least(minimum: int) -> Callable[[str], int]:
    """``argparse`` type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def non_negative_float(text: str) -> float:
    """``argparse`` type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


non_negative_float.__name__ = "number >= 0"


# What TensorFlow 2.18 writes to the terminal as it loads on any machine, whatever
# TF_CPP_MIN_LOG_LEVEL says: its CUDA plugins register twice (three "Unable to register
# ... factory" errors and absl's note that precedes them), and the CPU-feature notice.
_BENIGN_STARTUP = re.compile(
    r"Unable to register (cuFFT|cuDNN|cuBLAS) factory|"
    r"All log messages before absl::InitializeLog\(\) is called|"
    r"This TensorFlow binary is optimized to use available CPU|"
    r"To enable the following instructions: .* rebuild TensorFlow|"
    r"Could not find cuda drivers on your machine, GPU will not be used")
# cuInit fails wherever there is no NVIDIA driver; where there is one (its device node
# exists), the failure is news: the GPU will not be used, and it is shown.
_NO_DRIVER = re.compile(r"failed call to cuInit")


def load_tensorflow() -> Any:
    """Import TensorFlow (and look for its devices) with its known-benign startup lines
    held back; every other line it writes is shown, after it has loaded.

    Entry points call this where they first need TensorFlow, so the one line a user
    should read is not the last of eight. A GPU stays visible: only the
    missing-driver error is dropped, and only on a machine without an NVIDIA driver.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf  # noqa: PLC0415

            tf.config.list_physical_devices()  # where CUDA initialises, and says so
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            shown = [line for line in capture.read().decode(errors="replace").splitlines()
                     if not _BENIGN_STARTUP.search(line)
                     and not (_NO_DRIVER.search(line) and not os.path.exists("/dev/nvidiactl"))]
            if shown:
                print("\n".join(shown), file=sys.stderr, flush=True)
    return tf


def data_directory(text: str) -> str:
    """``argparse`` type: a TFDS data directory that exists (a URL such as ``gs://`` is
    left to TFDS)."""
    import os  # noqa: PLC0415

    if "://" not in text and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a folder; give a TensorFlow Datasets directory (one that "
            "holds cifar10/, or an empty one to download into)")
    return text


data_directory.__name__ = "data directory"


def add_data_dir(parser: argparse.ArgumentParser, environ: Mapping[str, str],
                 default: str = "the run's") -> None:
    """The ``--data-dir`` option, checked at once; ``$TFDS_DATA_DIR`` (in the given
    ``environ``) is its default, so it, too, wins over a run's stored location.

    Args:
        default: what an unset option and environment mean, for the help text.
    """
    env = environ.get("TFDS_DATA_DIR") or None
    parser.add_argument("--data-dir", metavar="DIR", type=data_directory, default=env,
                        help=f"TFDS data directory (default: $TFDS_DATA_DIR, else {default})")


def check_out_folder(path: str) -> None:
    """Refuse an ``--out`` that a file blocks: the path itself or a folder on the way.

    Commands create their output folder after TensorFlow has loaded, seconds later;
    checked before, the answer is immediate and names the file.

    Raises:
        RunFolderError: ``path``, or its nearest existing ancestor, is not a folder.
    """
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):  # lexists: a dangling link blocks too
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        blocker = path if existing == os.path.abspath(path) else existing
        what = "is a file, not a folder" if os.path.isfile(existing) else "is not a folder"
        raise RunFolderError(
            f"--out {path}: {blocker} {what}; give a new path or a folder to resume.")


def one_checkpoint(run_dir: str, spec: str) -> int:
    """The step that a ``--checkpoint STEP|latest`` option names in ``run_dir``.

    Commands that work on one checkpoint (a confusion matrix, a device evaluation)
    share ``rundir.select_checkpoints`` with ``train.probe``'s ``--checkpoints``, which
    also takes ``all`` and lists; those are refused here, by the option's text, so the
    answer does not depend on how many checkpoints the run happens to have.

    Raises:
        ConfigError: ``spec`` is neither one step nor ``latest``, or names no checkpoint.
        RunFolderError: the run has no checkpoints.
    """
    from tfq_ssl import rundir  # noqa: PLC0415 - the plumbing above needs no run folders

    if spec != "latest":
        try:
            int(spec)
        except ValueError:
            raise ConfigError(f"--checkpoint takes one step or latest, got {spec!r}.") from None
    [step] = rundir.select_checkpoints(run_dir, spec)
    return step


def run(prog: str, main: Callable[[Sequence[str] | None], int],
        argv: Sequence[str] | None = None) -> int:
    """Run an entry point's ``main``, turning user errors into one line and exit status 2.

    Args:
        prog: the command's name, printed before the message.
        main: the entry point; it raises :class:`UserError` for bad input (or
            ``OSError`` from the file system: a full disk, a permission).
        argv: arguments for ``main``.

    Returns:
        ``main``'s status, 2 for an error, 130 for Ctrl-C.
    """
    # Our progress lines at INFO; other libraries (TFDS, absl) only from WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for name in PROGRESS_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    interrupted.clear()
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        status = main(argv)
        if interrupted.is_set():
            raise KeyboardInterrupt
        return status
    except SystemExit as done:  # argparse: --help (0) or a bad option (2, already printed)
        return done.code if isinstance(done.code, int) else USAGE_ERROR
    # Not ValueError: TensorFlow, NumPy and our own code raise it for bugs, whose
    # traceback is what finds them. Checks of the user's input raise UserError
    # (ConfigError is also a ValueError, for library callers).
    except (UserError, OSError) as err:  # OSError: a full disk, a permission...
        print(f"{prog}: error: {one_line(err)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; rerun the same command to resume.", file=sys.stderr)
        return INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def one_line(err: BaseException) -> str:
    """The error's message on one line."""
    return " ".join(str(err).split()) or type(err).__name__


def run_module(args: Sequence[str], log: str) -> None:
    """Run ``python -m ARGS`` in a child process, its output appended to ``log`` (how an
    entry point runs another: entry points do not import each other).

    Raises:
        RuntimeError: the child failed; the message names it and the log.
    """
    with open(log, "a") as f:
        f.write("$ python -m " + " ".join(args) + "\n")
        f.flush()
        code = subprocess.call([sys.executable, "-m", *args], stdout=f, stderr=subprocess.STDOUT)
    if code:
        raise RuntimeError(f"python -m {args[0]} failed (exit {code}); see {log}")
