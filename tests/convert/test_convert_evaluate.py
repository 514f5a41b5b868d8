"""convert.evaluate end to end on a tiny trained run: statevector, fake_paris, resume."""

import tfq_ssl  # noqa: F401
import json

import numpy as np
import pytest

from convert import evaluate as evaluate_lib
from tests.helpers import generated_images, tiny_config, view_pairs
from tfq_ssl.config import ProbeConfig
from models import linear_probe as probe_lib
from models.simclr_fit import pretrain
from models.run import Run


@pytest.fixture(scope="module")
def probed_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    config = tiny_config("quantum", steps=2, save_every=2, hs_metrics=False)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    probe_lib.probe_run(run_dir, [2], ProbeConfig(epochs=10, batch_size=32, learning_rate=0.05),
                        datasets=(generated_images(64, seed=1), generated_images(32, seed=2)))
    return run_dir


@pytest.fixture
def test_images(monkeypatch):
    images = generated_images(6, seed=3)
    x, y = map(np.stack, zip(*images.as_numpy_iterator()))
    monkeypatch.setattr(Run, "test_sample", lambda self, n, seed=0, data_dir=None: (x[:n], y[:n]))


@pytest.mark.slow
def test_statevector_backend_reproduces_exact_accuracy(probed_run, test_images, tmp_path):
    summary = evaluate_lib.evaluate(probed_run, 2, "statevector", 6, 100, False, str(tmp_path))
    assert summary["device_accuracy"] == summary["statevector_accuracy"]
    assert summary["agreement_with_statevector"] == 1.0
    assert summary["mean_abs_expectation_error"] < 1e-5
    assert np.sum(summary["confusion_matrix"]) == 6
    assert (tmp_path / "confusion.png").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["backend"] == "statevector"


@pytest.mark.slow
def test_fake_backend_evaluation_and_resume(probed_run, test_images, tmp_path, monkeypatch):
    summary = evaluate_lib.evaluate(probed_run, 2, "fake_paris", 4, 2000, True, str(tmp_path))
    assert summary["backend"] == "fake_paris"
    assert summary["mean_abs_expectation_error"] < 0.2  # shots + device noise
    gates = summary["gates"]
    assert gates["level3"]["two_qubit"] >= gates["logical"]["two_qubit"]
    assert gates["overlap_min"] >= 0.99
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4

    # A rerun reads every image back instead of executing it again.
    import convert.device_eval as device_eval
    monkeypatch.setattr(device_eval.execute, "expectation_z",
                        lambda *a, **k: pytest.fail("re-executed a finished image"))
    again = evaluate_lib.evaluate(probed_run, 2, "fake_paris", 4, 2000, True, str(tmp_path))
    assert again["device_accuracy"] == summary["device_accuracy"]


@pytest.mark.slow
def test_classical_run_is_refused(tmp_path):
    config = tiny_config("classical", steps=1, save_every=1)
    pretrain(config, str(tmp_path), dataset=view_pairs(config), verbose=0)
    with pytest.raises(ValueError, match="needs a quantum representation network"):
        evaluate_lib.evaluate(str(tmp_path), 1, "statevector", 2, 100, False, str(tmp_path / "o"))


def test_cli_reports_unknown_backend(probed_run, test_images, tmp_path, capsys):
    code = evaluate_lib.main(["--run", probed_run, "--backend", "fake_nowhere", "--images", "2",
                              "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown fake backend 'fake_nowhere'" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_error_options_are_recorded_and_a_resume_cannot_mix_them(probed_run, test_images,
                                                                   tmp_path):
    from convert.execute import ErrorOptions
    from tfq_ssl.errors import RunFolderError
    errors = ErrorOptions(dd="XX", twirling=True, readout_mitigation=True)
    summary = evaluate_lib.evaluate(probed_run, 2, "fake_paris", 3, 500, False, str(tmp_path),
                                    errors=errors)
    assert summary["errors"] == {"dd": "XX", "twirling": True, "readout_mitigation": True}
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert all(r["errors"] == summary["errors"] for r in records)
    jobs = [json.loads(line) for line in (tmp_path / "results.jobs.jsonl").read_text().splitlines()]
    assert jobs and all(j["errors"] == summary["errors"] for j in jobs)
    with pytest.raises(RunFolderError, match="different run"):
        evaluate_lib.evaluate(probed_run, 2, "fake_paris", 3, 500, False, str(tmp_path))


def test_error_options_on_the_exact_backend_are_one_line(probed_run, tmp_path, capsys):
    assert evaluate_lib.main(["--run", probed_run, "--backend", "statevector",
                              "--readout-mitigation", "--out", str(tmp_path / "e")]) == 2
    assert "need a device or fake backend" in capsys.readouterr().err
    assert evaluate_lib.main(["--run", probed_run, "--backend", "fake_paris", "--dd", "XZ",
                              "--out", str(tmp_path / "e")]) == 2
    assert not (tmp_path / "e").exists()
