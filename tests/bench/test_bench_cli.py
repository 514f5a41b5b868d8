"""bench.qnn and bench.simulate answer as every entry point does: --help at once without
TensorFlow, a bad option as one line with exit status 2."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT

BENCHES = ["bench.qnn", "bench.simulate"]


def _run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m module args``, reporting on stdout's last line whether TensorFlow loaded."""
    script = (
        "import runpy, sys\n"
        f"sys.argv = [{module!r}, *{list(args)!r}]\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
        "    code = 0\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module", BENCHES)
def test_help_loads_no_tensorflow(module):
    proc = _run_module(module, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"usage: python -m {module}" in proc.stdout
    assert proc.stdout.strip().endswith("no TF")


@pytest.mark.parametrize("args, needle", [
    (["--width", "0"], "--width"),
    (["--width", "-2"], "--width"),
    (["--layers", "0"], "--layers"),
    (["--batch", "0"], "--batch"),
    (["--ansatz", "star"], "--ansatz"),
])
@pytest.mark.parametrize("module", BENCHES)
def test_bad_option_is_one_line_before_tensorflow(module, args, needle):
    proc = _run_module(module, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    # argparse names the command as typed, cli.run by its module (as every entry point)
    assert len(lines) == 1 and lines[0].startswith(
        (f"python -m {module}: error: ", f"{module}: error: ")), proc.stderr
    assert needle in lines[0]
    assert proc.stdout.strip() == "no TF"


def test_qnn_checks_each_mode_against_the_depth_before_tensorflow():
    proc = _run_module("bench.qnn", "--width", "4", "--layers", "4", "--modes", "adjoint",
                       "tensornet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == ["bench.qnn: error: mode tensornet: engine='tensornet' takes at most "
                     "layers=3 (its contraction of the ring keeps 2·L bonds open, 4**(2·L) "
                     "numbers per batch row); got layers=4. Use engine='statevector' for "
                     "deeper circuits."], proc.stderr
    assert proc.stdout.strip() == "no TF"
