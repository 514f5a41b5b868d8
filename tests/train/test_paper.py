"""train.paper end to end on tiny generated data: every figure, one seed, two steps."""

import json
import os
import shutil

import pytest

from tests.helpers import write_cifar10
from tfq_ssl import rundir
from train import claims, paper

TINY = ["train.steps=2", "train.save_every=2", "train.batch_size=8", "train.hs_batch=4",
        "model.resnet_depth=10", "data.download=false"]


def _argv(out, data_dir, ledger):
    argv = ["--out", str(out), "--ledger", str(ledger), "--seeds", "1", "--probe-epochs", "2", "--data-dir", data_dir,
            "--device-images", "2", "--device-shots", "10", "--executor", "inline"]
    for item in TINY:
        argv += ["--set", item]
    return argv


@pytest.mark.slow
def test_the_whole_paper_runs_reports_and_resumes(tmp_path, capsys):
    data_dir = write_cifar10(str(tmp_path / "tfds"), n_train=80, n_test=40, classes=5)
    out, ledger = tmp_path / "paper", tmp_path / "ledger"
    assert paper.main(_argv(out, data_dir, ledger)) == 0
    text = capsys.readouterr().out
    table = (out / "claims.md").read_text()
    for fig in ("Fig. 4", "Fig. 5", "Fig. 6", "Fig. 7", "Fig. 8", "Fig. 10", "wide"):
        assert f"| {fig} |" in table
    assert "not run" not in table  # one seed: every figure has numbers, no intervals
    assert "fewer than 2 paired seeds: no interval" in table
    for fig in ("fig4", "fig5", "fig7", "fig8", "fig10", "wide"):
        assert (out / f"{fig}.md").exists() and (out / f"{fig}.png").stat().st_size > 1000
    # Fig. 5's W = 8 runs serve Figs. 7, 8, 10 and wide, and fig7's W = 16 classical
    # model is wide's: 18 models in all, each once.
    runs = sorted(os.listdir(out / "runs"))
    assert len(runs) == 18 and "quantum_W8" not in runs and "classical_W8" not in runs
    # --keep last (the default): a run keeps its last checkpoint, no resume state.
    run = str(out / "runs" / "classical_W512" / "seed-0")
    assert rundir.list_checkpoints(run) == [2] and rundir.list_resume_states(run) == []
    timing = json.loads((out / "paper_time.json").read_text())
    assert set(timing) == {"fig4", "fig5", "fig10", "fig8", "fig7", "wide", "fig6"}
    # What each figure's runs took by their records: fig5's three runs, pretrained and probed.
    states = [json.loads((out / "runs" / v / "seed-0" / "state.json").read_text())["seconds"]
              for v in ("quantum", "quantum_100_shots", "classical")]
    assert timing["fig5"]["pretrain_seconds"] == pytest.approx(sum(states), abs=0.2)
    assert timing["fig5"]["probe_seconds"] > 0 and "| pretraining h |" in table
    summary = json.loads((out / "fig6" / "fake_paris" / "summary.json").read_text())
    assert summary["images"] == 2 and summary["backend"] == "fake_paris"
    assert "18 of 18" not in text  # the figures ran one by one
    # A rerun computes nothing and writes the same table.
    assert paper.main(_argv(out, data_dir, ledger)) == 0
    rerun = capsys.readouterr().out
    done = [line for line in rerun.splitlines() if "runs done" in line]
    assert len(done) == 6 and all(line.startswith("0 of ") for line in done), done
    assert (out / "claims.md").read_text().split("## Time")[0] == table.split("## Time")[0]
    # Each figure's report ends with its claims' verdicts, once however often it is written.
    claims.write(str(out), range(1), {}, str(ledger))
    for fig in ("fig4", "fig5", "fig7", "fig8", "fig10", "wide", "fig6"):
        assert (out / f"{fig}.md").read_text().count("## Verdict\n") == 1, fig
    assert "the loss falls (9.13 → 5.16)" in (out / "fig4.md").read_text()
    report = (out / "fig6.md").read_text()
    assert "| quantum, fake_paris, recompiled | " in report and "## Recompilation" in report
    assert "(paired) |" in report  # the same images: both models' predictions, paired
    assert (out / "fig6.png").stat().st_size > 1000

    # A fresh machine: only the ledger holds the classical model Fig. 6 chose. Its
    # checkpoint is trained again and the report gives both probe figures. The ledger's
    # figure is altered here to stand for a run made on another CPU (another model).
    run = out / "runs" / "classical" / "seed-0"
    [result] = (ledger / "classical" / "seed-0" / "probe").glob("*/step-00002.json")
    own = json.loads(result.read_text())["final_test_accuracy"]
    result.write_text(json.dumps({**json.loads(result.read_text()), "final_test_accuracy": 0.99}))
    shutil.rmtree(run)
    for name in ("classical.json", "classical.png", "chosen.json"):
        (out / "fig6" / name).unlink()
    assert paper.main(_argv(out, data_dir, ledger)) == 0
    assert rundir.list_checkpoints(str(run)) == [2]
    chosen = json.loads((out / "fig6" / "chosen.json").read_text())["classical"]
    assert chosen["trained_again"] and chosen["ledger_probe_accuracy"] == 0.99
    assert chosen["probe_accuracy"] == own  # this CPU: the same model as the first time
    assert "trained again here" in (out / "fig6.md").read_text()
    # The ledger stays the record of Fig. 5: its figure, not the retrained folder's.
    assert "| classical | 2 | 99.00" in (out / "fig5.md").read_text()


def test_verdicts_follow_the_rules_of_the_claims_table():
    assert claims.verdict_difference((0.5, 4.0), 3.02) == "reproduced"
    assert claims.verdict_difference((0.5, 2.0), 3.02) == "reproduced (smaller than the paper's)"
    assert claims.verdict_difference((-1.0, 4.0), 3.02) == "not established"
    assert claims.verdict_difference((-2.0, 1.0), 3.02) == "contradicted"
    assert claims.verdict_difference((-4.0, -0.1), -3.05) == "reproduced"
    assert claims.verdict_equal((-1.0, 1.5)) == "reproduced"
    assert claims.verdict_equal((-1.0, 3.0)) == "not established"
    assert claims.verdict_equal((2.5, 4.0)) == "contradicted"
    assert claims.verdict_direction((0.1, 1.0)) == "reproduced"
    assert claims.verdict_direction((-1.0, -0.1)) == "contradicted"
    assert claims.verdict_direction((-1.0, 1.0)) == "not established"


def test_a_bad_option_is_one_line_before_anything_runs(tmp_path, capsys):
    assert paper.main(["--out", str(tmp_path / "p"), "--set", "model.width=3"]) == 2
    assert "would change what the spec's variants are" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_claim_reads_the_reports_first_probe_head():
    """A report compared at every checkpoint also lists its other heads' rows, each with
    a ``head`` key; a claim must not take one of those for the first head's figure."""
    def row(difference, **extra):
        return {"key": "final", "a": "quantum", "b": "classical", "step": 176, **extra,
                "paired": {"difference": difference, "ci_low": difference - 0.01,
                           "ci_high": difference + 0.01, "n": 10}}
    data = {"comparisons": [row(0.09, head="lbfgs"), row(0.03), row(0.05, head="standardized")]}
    paired = claims._paired(data, "quantum", "classical")
    assert round(paired["d"], 6) == 3.0 and paired["n"] == 10
