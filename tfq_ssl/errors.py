"""Errors a user can fix: entry points print them as one line and exit with status 2.

Everything raised from here on says what was wrong, what was expected and what to
do; nothing else in the library needs to know how the command line reports it.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a bad file that the user can fix (no traceback is shown)."""


class ConfigError(UserError, ValueError):
    """A config value, a config file or a command-line option is invalid."""


class RunFolderError(UserError):
    """A run or experiment folder cannot be used as asked."""


class RunLockedError(RunFolderError):
    """Another live process is writing into the same folder."""


class CorruptFileError(RunFolderError):
    """A file a run wrote is truncated or garbled; the message names it and the remedy."""


class DeviceError(UserError, RuntimeError):
    """A quantum device or its service cannot be used (no account, no network, refused)."""
