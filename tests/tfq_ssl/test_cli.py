"""tfq_ssl.cli.run: errors about the user's input are one line and exit status 2; every
other exception (a bug, an error inside TensorFlow) keeps its traceback and exit status 1."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tfq_ssl import cli
from tfq_ssl.errors import ConfigError, CorruptFileError, DeviceError, RunFolderError


def _raising(err):
    def main(argv):
        raise err
    return main


@pytest.mark.parametrize("err", [
    ConfigError("model.width must be an integer >= 1,\n got 0."),
    RunFolderError("runs/x is not a run folder."),
    CorruptFileError("runs/x/config.json is not valid JSON."),
    DeviceError("backend 'ibm_x' needs an IBM Quantum account."),
    OSError(28, "No space left on device"),  # the machine, not the code: no traceback helps
])
def test_user_errors_are_one_line_with_status_2(err, capsys):
    assert cli.run("prog", _raising(err)) == cli.USAGE_ERROR
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prog: error: "), lines
    assert "Traceback" not in lines[0]


@pytest.mark.parametrize("err", [ValueError("Shapes (2, 3) and (4,) are incompatible"),
                                 RuntimeError("internal"), KeyError("step")])
def test_other_exceptions_are_not_swallowed(err, capsys):
    with pytest.raises(type(err)):
        cli.run("prog", _raising(err))
    assert capsys.readouterr().err == ""


def test_an_internal_value_error_keeps_its_traceback_and_exits_1():
    script = (
        "import sys\n"
        "from tfq_ssl import cli\n"
        "def main(argv):\n"
        "    raise ValueError('Shapes (2, 3) and (4,) are incompatible')\n"
        "sys.exit(cli.run('prog', main))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert "in main" in proc.stderr
    assert proc.stderr.strip().endswith("ValueError: Shapes (2, 3) and (4,) are incompatible")
