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


def test_fig6_tabulates_every_arm_beside_the_classical_model(runs, tmp_path, capsys):
    """The table from finished evaluations (a rerun evaluates nothing again): each arm's
    accuracy with its Wilson interval, its Newcombe difference to the classical model on
    the same images, and every model's accuracy per class."""
    import json
    out = tmp_path / "out"
    confusion = [[3, 1], [2, 4]]  # 7 of 10 right: 3 of 4 and 4 of 6
    (out / "fig6").mkdir(parents=True)
    (out / "fig6" / "classical.json").write_text(json.dumps(
        {"images": 10, "accuracy": 0.5, "class_names": ["cat", "dog"],
         "confusion_matrix": [[2, 2], [3, 3]]}))
    for arm in ("plain", "m3", "mitigated"):
        folder = out / "fig6" / "fake_fez" / arm
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(
            {"images": 10, "device_accuracy": 0.7, "statevector_accuracy": 0.8,
             "agreement_with_statevector": 0.9, "mean_abs_expectation_error": 0.05,
             "gates": {"level3": {"two_qubit": 56.0}}, "confusion_matrix": confusion}))
    assert device_runs.main(["fig6", "--out", str(out), "--images", "10", "--quantum",
                             runs["quantum"], "--classical", runs["classical"],
                             "--backends", "fake_fez"]) == 0
    table = capsys.readouterr().out
    for label in ("none", "M3", "M3 + XY4"):
        assert f"| fake_fez | {label} | 70.00 [39.68, 89.22] | +20.00 [-20.17, +52.61] | 80.00 " \
               f"| 90.00 | 0.050 | 56.0 |" in table
    assert "| classical | 50.0 | 50.0 |" in table and "| fake_fez, M3 | 75.0 | 66.7 |" in table
