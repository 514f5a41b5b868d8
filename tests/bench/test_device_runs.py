"""bench.device_runs checks every run folder and device it names before it writes
anything: its evaluations run one after the other in children, for hours, so a typo
must not surface after the first ones."""

import pytest

from bench import device_runs
from tests.helpers import tiny_config
from tfq_ssl import rundir


@pytest.fixture
def runs(tmp_path):
    folders = {}
    for rep in ("quantum", "classical"):
        folders[rep] = str(tmp_path / rep)
        rundir.prepare(tiny_config(rep), folders[rep])
    return folders


@pytest.mark.parametrize("change, needle", [
    ({"--quantum": "missing"}, "is not a run folder (no config.json)"),
    ({"--classical": "missing"}, "is not a run folder (no config.json)"),
    ({"--backends": "fake_nowhere"}, "unknown fake backend 'fake_nowhere'"),
])
def test_fig6_refuses_a_bad_run_or_device_before_writing(runs, tmp_path, capsys, change,
                                                        needle):
    options = {"--quantum": runs["quantum"], "--classical": runs["classical"],
               "--backends": "fake_fez"}
    options.update({k: str(tmp_path / v) if v == "missing" else v for k, v in change.items()})
    out = tmp_path / "out"
    argv = ["fig6", "--out", str(out), "--images", "2"]
    for key, value in options.items():
        argv += [key, value]
    assert device_runs.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench.device_runs: error: ") and needle in err[0]
    assert not out.exists()


def test_noise_refuses_a_missing_seed_before_writing(runs, tmp_path, capsys):
    exp = tmp_path / "exp"
    for variant in ("quantum", "quantum_noise_fez"):
        rundir.prepare(tiny_config("quantum"), str(exp / "runs" / variant / "seed-0"))
    out = tmp_path / "out"
    assert device_runs.main(["noise", "--exp", str(exp), "--seeds", "2", "--out",
                             str(out)]) == 2
    err = capsys.readouterr().err
    assert "runs/quantum/seed-1 is not a run folder" in err
    assert not out.exists()
