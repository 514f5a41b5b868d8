"""train.paper end to end on tiny generated data: every figure, one seed, two steps."""

import json
import math
import os
import shutil
import time

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
    # Runs are counted by their records, so a figure's count is right however many
    # invocations (interrupted ones too) computed them; a shared run counts in its first figure.
    assert {f: timing[f].get("runs") for f in timing} == {
        "fig4": 1, "fig5": 3, "fig10": 1, "fig8": 6, "fig7": 2, "wide": 5, "fig6": None}
    assert timing["fig5"]["probe_seconds"] > 0 and "| pretraining h |" in table
    assert timing["fig6"]["peak_disk_bytes"] > 0 and "Peak disk use of this folder: " in table
    summary = json.loads((out / "fig6" / "fake_paris" / "summary.json").read_text())
    assert summary["images"] == 2 and summary["backend"] == "fake_paris"
    assert "18 of 18" not in text  # the figures ran one by one
    # A rerun computes nothing and writes the same table.
    assert paper.main(_argv(out, data_dir, ledger)) == 0
    rerun = capsys.readouterr().out
    done = [line for line in rerun.splitlines() if "runs done" in line]
    # six figures, then Fig. 6's two chosen runs, each checked and found finished
    assert len(done) == 8 and all(line.startswith("0 of ") for line in done), done
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


def test_other_settings_never_overwrite_a_ledger_entry(tmp_path, capsys):
    """--set changes every run's config; an entry that holds the run under the presets
    must neither be overwritten nor mixed into the reports: one error, nothing written."""
    from tfq_ssl import config_io
    from tfq_ssl.errors import RunFolderError
    from train import ledger
    from train.specs import SPECS, run_config

    variant = SPECS["fig4"].variants[0]
    entry = ledger.entry(str(tmp_path / "ledger"), variant.name, 0)
    os.makedirs(entry)
    config_io.save_json(run_config(variant, 0, ()), os.path.join(entry, "config.json"))
    out = tmp_path / "p"
    assert paper.main(["--out", str(out), "--ledger", str(tmp_path / "ledger"), "--figures",
                       "fig4", "--set", "train.steps=10"]) == 2
    err = capsys.readouterr().err
    assert "holds this run with other settings (train.steps: 100 there, 10 now)" in err
    assert "leave --ledger out" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    # The ledger refuses the copy itself too (a finished run folder of the other config).
    run = tmp_path / "run"
    os.makedirs(run)
    config_io.save_json(run_config(variant, 0, ("train.steps=10",)), str(run / "config.json"))
    rundir.write_state(str(run), {"done": True})
    with pytest.raises(RunFolderError, match="holds this run with other settings"):
        ledger.store(str(run), entry, [], [])
    assert run_config(variant, 0, ()) == rundir.read_config(entry)


def test_fig6_refuses_evaluations_of_another_model(tmp_path):
    """More Fig. 5 seeds finished since Fig. 6 ran, and another run is now the best: the
    kept evaluation is of the old one, so the report would name one model and show
    another's figures."""
    folder = tmp_path / "fig6"
    os.makedirs(folder / "fake_paris")
    best = {"classical": (str(tmp_path / "runs/classical/seed-3"), 3, 0.45),
            "quantum_100_shots": (str(tmp_path / "runs/quantum_100_shots/seed-1"), 1, 0.47)}
    (folder / "classical.json").write_text(json.dumps({"run": best["classical"][0], "images": 9}))
    (folder / "fake_paris" / "summary.json").write_text(
        json.dumps({"run": best["quantum_100_shots"][0], "images": 9}))
    paper._check_evaluations(str(folder), best, 9)  # the same models: nothing to say
    with pytest.raises(RuntimeError, match="evaluated .* on 9 images, but Fig. 6 now evaluates"):
        paper._check_evaluations(str(folder), best, 900)
    best["classical"] = (str(tmp_path / "runs/classical/seed-8"), 8, 0.48)
    with pytest.raises(RuntimeError, match=r"classical/seed-3 on 9 images.*move .*fig6 aside"):
        paper._check_evaluations(str(folder), best, 9)


def test_fig6_waits_for_every_fig5_run(tmp_path, monkeypatch, capsys):
    """Fig. 6 evaluates Fig. 5's best runs; with one of them failed it would pick among
    the others, so it is left for the rerun. claims.md states the verdict rules."""
    from train import sweep

    def execute(jobs, probes, args):
        return sweep.Outcome(total=len(jobs), failed=[jobs[0].name])

    def device_figure(args, seeds):
        raise AssertionError("Fig. 6 ran although Fig. 5 had a failed run")

    monkeypatch.setattr(sweep, "execute", execute)
    monkeypatch.setattr(paper, "device_figure", device_figure)
    out = tmp_path / "p"
    assert paper.main(["--out", str(out), "--figures", "fig5", "fig6", "--seeds", "1"]) == 1
    err = capsys.readouterr().err
    assert "fig5: quantum seed 0" in err and "fig6 (not run: Fig. 5 has failed runs)" in err
    table = (out / "claims.md").read_text()
    assert "- a claimed difference d: *reproduced* when the CI lies above zero" in table
    assert "(±2 points unless the row names another)" in table
    assert "within ±5 points" in table  # Fig. 6's margin, in its row


def _fig7(tmp_path, cis):
    """A fig7.json whose paired differences to W = 512 have these CIs (points)."""
    comparisons = [{"key": "final", "a": "classical" if w == 8 else f"classical_W{w}",
                    "b": "classical_W512", "step": 176,
                    "paired": {"difference": (lo + hi) / 200, "ci_low": lo / 100,
                               "ci_high": hi / 100, "n": 5}}
                   for w, (lo, hi) in cis.items()]
    (tmp_path / "fig7.json").write_text(json.dumps({"comparisons": comparisons, "curves": {}}))
    return {r[1].split(" (")[0]: r[3] for r in claims.rows(str(tmp_path), range(5))
            if r[0] == "Fig. 7"}


def test_fig7_says_not_established_where_an_interval_cannot_tell(tmp_path):
    narrowest = "W = 8 is the narrowest width that behaves like W = 512"
    rows = _fig7(tmp_path, {2: (-9, -5), 4: (-6, -3), 8: (-1.5, 1), 16: (-1, 1)})
    assert rows["W = 2 vs W = 512"] == "does not" and rows[narrowest] == "reproduced"
    # W = 4's interval straddles the margin: unknown, so the claim is not established
    rows = _fig7(tmp_path, {2: (-9, -5), 4: (-6, 1), 8: (-1.5, 1), 16: (-1, 1)})
    assert rows["W = 4 vs W = 512"] == "not established"
    assert rows[narrowest] == "not established"
    # W = 4 behaves like W = 512 already: contradicted
    rows = _fig7(tmp_path, {2: (-9, -5), 4: (-1, 1), 8: (-1.5, 1), 16: (-1, 1)})
    assert rows[narrowest] == "contradicted"


def test_fig7_growth_is_a_per_seed_slope_on_log_width(tmp_path):
    """Accuracy a + b·log2 W per seed (b = 1.5, 2, 2.5 points a doubling): the row gives
    the mean slope 2 with its t interval; slopes around zero are not established."""
    def curves(slopes):
        return {name: {"176": {"final": {
            "seeds": list(range(len(slopes))),
            "values": [(40 + b * math.log2(w)) / 100 for b in slopes]}}}
            for w, name in claims.FIG7_WIDTHS.items()}

    def row(slopes):
        (tmp_path / "fig7.json").write_text(json.dumps({"comparisons": [],
                                                         "curves": curves(slopes)}))
        [r] = [r for r in claims.rows(str(tmp_path), range(3)) if "grows" in r[1]]
        return r

    r = row([1.5, 2.0, 2.5])
    half = 4.302652729911275 * 0.5 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert r[2] == f"+2.00 [{2 - half:+.2f}, {2 + half:+.2f}] (n=3 seeds with every width)"
    assert r[3] == "reproduced"
    assert row([-1.0, 0.0, 1.0])[3] == "not established"
    assert row([2.0])[2] == "fewer than 2 seeds with every width: no interval"


def test_an_interrupted_figure_keeps_its_time(tmp_path, monkeypatch):
    """A long sweep is stopped and continued many times: each invocation's time counts
    in paper_time.json, the interrupted one's too."""
    from train import sweep

    def execute(jobs, probes, args):
        time.sleep(0.2)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "execute", execute)
    out = tmp_path / "p"
    for _ in range(2):
        assert paper.main(["--out", str(out), "--figures", "fig5", "--seeds", "1"]) != 0
    timing = json.loads((out / "paper_time.json").read_text())
    assert timing["fig5"]["seconds"] >= 0.4


def test_fig4_counts_the_runs_that_logged_each_trace(tmp_path):
    """A Fig. 4 run stopped before its first checkpoint has a loss but no
    hilbert_schmidt.csv: the loss row counts it, the trace rows do not, and the table
    is still written."""
    from train.specs import SPECS, run_dir

    variant = SPECS["fig4"].variants[0]
    for seed in range(3):
        folder = run_dir(str(tmp_path), variant, seed)
        os.makedirs(folder)
        with open(os.path.join(folder, rundir.METRICS_FILE), "w") as f:
            f.write("step,loss\n1,9.0\n100,5.0\n".replace("5.0", str(5.0 + seed / 10)))
        if seed < 2:
            with open(os.path.join(folder, rundir.HS_FILE), "w") as f:
                f.write("step,hs_distance,tr_rho2,tr_sigma2,tr_rho_sigma\n"
                        f"0,0.0,0.9,0.9,0.9\n100,{0.4 + seed / 10},0.85,0.4,0.39\n")
    rows = {r[1]: r[2] for r in claims.fig4_rows(str(tmp_path), range(3), None)}
    assert rows["the loss falls (9.13 → 5.16)"].endswith("(n=3)")
    assert rows["D_HS rises"].endswith("(n=2)")
