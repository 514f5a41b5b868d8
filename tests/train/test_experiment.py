import json
import os

import numpy as np
import pytest

from train import reports, specs


def _result(step, final, best):
    return {"step": step, "final_test_accuracy": final, "best_test_accuracy": best}


def test_aggregate_mean_and_sample_std():
    results = [_result(13, 0.40, 0.45), _result(13, 0.44, 0.47), _result(13, 0.42, 0.52),
               _result(26, 0.50, 0.55), _result(26, 0.52, 0.56), _result(26, 0.54, 0.60)]
    agg = reports.aggregate(results)
    assert sorted(agg) == [13, 26]
    assert agg[13]["final"]["mean"] == pytest.approx(0.42)
    assert agg[13]["final"]["std"] == pytest.approx(np.std([0.40, 0.44, 0.42], ddof=1))
    assert agg[26]["best"]["mean"] == pytest.approx(np.mean([0.55, 0.56, 0.60]))
    assert agg[26]["best"]["n"] == 3


def test_aggregate_drops_steps_missing_a_seed():
    agg = reports.aggregate([_result(13, 0.4, 0.4), _result(13, 0.5, 0.5), _result(26, 0.6, 0.6)])
    assert list(agg) == [13]


def test_single_seed_has_zero_std_and_no_interval():
    assert reports.mean_std([0.3]) == {"mean": 0.3, "std": 0.0, "n": 1,
                                          "ci_low": None, "ci_high": None}


def test_report_writes_table_and_plot(tmp_path):
    spec = specs.SPECS["fig5"]
    for variant, base in zip(spec.variants, (0.46, 0.45, 0.43)):
        for seed in (0, 1):
            folder = tmp_path / "runs" / variant.name / f"seed-{seed}" / "probe" / "cached"
            os.makedirs(folder)
            for step in (13, 176):
                with open(folder / f"step-{step:05d}.json", "w") as f:
                    json.dump(_result(step, base + 0.01 * seed, base + 0.02), f)
    # asked for seeds 0-4, as train.paper asks every figure for the most any has: the
    # header names the two that ran
    table = reports.report("fig5", str(tmp_path), range(5), "cached")
    assert "`adam` head, seeds [0, 1]; accuracy" in table
    assert ("| quantum | 176 | 46.50 ± 0.71 [40.15, 52.85] (n=2) | 48.00 ± 0.00 [48.00, 48.00] (n=2) "
            "| 46.51 ± 1.37 |") in table
    # quantum - classical: +3 points in both seeds (paired), Welch on 2 + 2 seeds
    assert "| quantum − classical | 176 | +3.00 |" in table
    assert "| +3.00 (n=2) |" in table
    assert "(last common checkpoint, final epoch)" in table
    assert "(last common checkpoint, best epoch)" in table
    # every probed checkpoint, final and best, for each variant
    assert "Checkpoints probed: 13, 176." in table
    assert ("| 13 | 46.50 ± 0.71 [40.15, 52.85] (n=2) | 48.00 ± 0.00 [48.00, 48.00] (n=2) | "
            "45.50 ± 0.71") in table
    assert (tmp_path / "fig5.png").stat().st_size > 1000
    assert (tmp_path / "fig5.md").read_text() == table
    assert table.startswith("# Fig. 5: quantum vs classical representation network (W=8, L=2, "
                            "5 classes, 176 batches of 256)")


def test_the_report_title_follows_the_overrides(tmp_path):
    """Hostile case: the title said W=8 after --set model.width=2, and named no overrides."""
    overrides = ["model.width=2", "data.classes=3"]
    table = reports.report("fig5", str(tmp_path), [0], "cached", overrides=overrides)
    assert table.startswith("# Fig. 5: quantum vs classical representation network (W=2, L=2, "
                            "3 classes, 176 batches of 256)")
    assert "Settings changed from the presets: `model.width=2`, `data.classes=3`." in table


def test_every_spec_names_existing_presets_and_valid_overrides():
    from tfq_ssl import config_io
    from train.presets import PRESETS, get_preset
    for spec in specs.SPECS.values():
        for v in spec.variants:
            assert v.preset in PRESETS
            config = config_io.override(get_preset(v.preset), list(v.overrides))
            if v.width is not None:
                assert config.model.width == v.width
    wide = {v.name: config_io.override(get_preset(v.preset), list(v.overrides))
            for v in specs.SPECS["wide"].variants}
    assert wide["quantum_W20"].model.engine == "tensornet"


def test_width_report_groups_by_family(tmp_path):
    spec = specs.SPECS["fig8"]
    for variant in spec.variants:
        folder = tmp_path / "runs" / variant.name / "seed-0" / "probe" / "cached"
        os.makedirs(folder)
        with open(folder / "step-00176.json", "w") as f:
            json.dump(_result(176, 0.3 + 0.01 * variant.width, 0.4), f)
    table = reports.report("fig8", str(tmp_path), [0], "cached")
    assert "| quantum_W6 | 176 | 36.00 ± 0.00 (n=1) |" in table
    assert (tmp_path / "fig8.png").stat().st_size > 1000


def test_comparisons_pair_seeds_and_size_the_sweep():
    def curve(values):
        return {176: {"final": {**reports.mean_std(values), "values": values,
                                "seeds": list(range(len(values)))}}}

    quantum = [0.40, 0.45, 0.35, 0.48]
    classical = [0.39, 0.44, 0.34, 0.47]  # one point below in every seed
    [row] = reports.compare({"quantum": curve(quantum), "classical": curve(classical)},
                               {"quantum": (46.51, 1.37), "classical": (43.49, 1.31)})
    assert row["paired"]["difference"] == pytest.approx(0.01)
    assert row["paired"]["p"] < 1e-6 and row["welch"]["p"] > 0.5
    spread = np.sqrt((np.var(quantum, ddof=1) + np.var(classical, ddof=1)) / 2)
    assert row["power"]["spread"] == pytest.approx(spread)
    assert row["power"]["seeds_per_arm"] >= 10


def test_probe_every_takes_every_kth_checkpoint_and_the_last():
    from tfq_ssl.config import TrainConfig
    from train.sweep import probe_steps
    train = TrainConfig(steps=176, save_every=13)
    assert probe_steps(train) == [13, 26, 39, 52, 65, 78, 91, 104, 117, 130, 143, 156, 169, 176]
    assert probe_steps(train, 2) == [26, 52, 78, 104, 130, 156, 176]
    assert probe_steps(train, 3) == [39, 78, 117, 156, 176]
    assert probe_steps(train, 100) == [176]
    assert probe_steps(TrainConfig(steps=26, save_every=13), 2) == [26]


def test_small_p_values_keep_their_digits():
    assert reports._p(0.0431) == "0.043"
    assert reports._p(0.00042) == "4.2e-04"


def _write(tmp_path, variant, seed, key, step, final, spread=None):
    folder = tmp_path / "runs" / variant / f"seed-{seed}" / "probe" / key
    os.makedirs(folder, exist_ok=True)
    result = _result(step, final, final)
    if spread is not None:
        result["feature_std_median"] = spread
    with open(folder / f"step-{step:05d}.json", "w") as f:
        json.dump(result, f)


def test_controls_report_pairs_counts_tails_and_states_verdicts(tmp_path):
    # Ring 46-ish; product = ring (keeps the gain); cos = classical (removes it);
    # tanh between; identity below classical. Seed 3 of classical is a low-tail run.
    offsets = [0.0, 0.004, -0.004, 0.002, -0.002]
    arms = {"quantum": 0.465, "quantum_ring_product": 0.466, "classical": 0.440,
            "classical_cos": 0.441, "classical_tanh": 0.452, "identity": 0.420}
    for arm, base in arms.items():
        for seed, off in enumerate(offsets):
            acc = base + off - (0.06 if (arm == "classical" and seed == 3) else 0)
            for key, shift in (("cached", 0.0), ("cached-lbfgs", 0.01)):
                _write(tmp_path, arm, seed, key, 176, acc + shift,
                       spread=0.5 if arm.startswith("quantum") else 0.01)
    table = reports.report("controls", str(tmp_path), list(range(5)), "cached",
                              heads=["adam", "lbfgs"])
    assert "## Probe head `adam` (checkpoint 176, final epoch)" in table
    assert "## Probe head `lbfgs` (checkpoint 176, final epoch)" in table
    assert "| 1 of 5 (seeds [3]) |" in table  # classical's low tail
    assert "| 0.5 |" in table and "| 0.01 |" in table  # median feature std
    lines = {line.split("**")[1]: line for line in table.splitlines() if line.startswith("- **")}
    assert "keeps the gain" in lines["quantum_ring_product"]
    assert "removes the gain" in lines["classical_cos"]
    assert "is below even the classical network" not in lines["classical_tanh"]
    assert (tmp_path / "controls.png").stat().st_size > 1000
    data = json.loads((tmp_path / "controls.json").read_text())
    assert data["heads"] == ["adam", "lbfgs"]
    ring = data["controls"]["adam"]["quantum_ring_product"]["vs_ring"]
    assert ring["n"] == 5 and abs(ring["difference"] - 0.001) < 1e-9


def test_the_longer_spec_compares_its_arms_at_every_checkpoint(tmp_path):
    """Issue 23: does the gap grow, stay or close from batch 176 to 485?"""
    spec = specs.SPECS["longer"]
    configs = [specs.run_config(v, 0) for v in spec.variants]
    assert [c.train.steps for c in configs] == [485, 485]
    assert [c.train.save_every for c in configs] == [176, 176]  # checkpoints 176, 352, 485
    for variant, base in zip(spec.variants, (0.46, 0.43)):
        for seed in (0, 1):
            folder = tmp_path / "runs" / variant.name / f"seed-{seed}" / "probe" / "cached"
            os.makedirs(folder)
            for step, gain in ((176, 0.0), (352, 0.01), (485, 0.02)):
                with open(folder / f"step-{step:05d}.json", "w") as f:
                    json.dump(_result(step, base + gain + 0.01 * seed, base + 0.03), f)
    # Under a second head the gap grows, by one point per checkpoint for seed 0 and by
    # two for seed 1: its change from 176 is +1.5 points at 352 and +3.0 at 485.
    for variant in spec.variants:
        for seed in (0, 1):
            folder = tmp_path / "runs" / variant.name / f"seed-{seed}" / "probe" / "cached-lbfgs"
            os.makedirs(folder)
            for k, step in enumerate((176, 352, 485)):
                value = (0.47 + 0.01 * k * (1 + seed) if variant.name == "quantum_485"
                         else 0.45)
                with open(folder / f"step-{step:05d}.json", "w") as f:
                    json.dump(_result(step, value, value), f)
    table = reports.report("longer", str(tmp_path), [0, 1], "cached", heads=["adam", "lbfgs"])
    assert "(every common checkpoint, final epoch)" in table
    for step in (176, 352, 485):
        assert f"| quantum_485 − classical_485 | {step} | +3.00 |" in table
    assert "(probe head `lbfgs`, every common checkpoint, final epoch)" in table
    assert "| quantum_485 − classical_485 | 485 | +5.00 |" in table  # lbfgs: 2 + (2 + 4) / 2
    gap = table.split("## Does the gap change with training? (probe head `lbfgs`")[1]
    assert "| quantum_485 − classical_485 | 176 → 352 | +1.50 |" in gap
    assert "| quantum_485 − classical_485 | 176 → 485 | +3.00 |" in gap
    adam = table.split("## Does the gap change with training? (probe head `adam`")[1]
    assert "| quantum_485 − classical_485 | 176 → 485 | +0.00 |" in adam  # a constant gap
    data = json.loads((tmp_path / "longer.json").read_text())
    assert data["gap_change"]["lbfgs"][-1]["difference"] == pytest.approx(0.03)


def test_width_reports_pair_each_width_as_their_claims_need(tmp_path):
    """Fig. 8 and wide compare the families at each width, Fig. 7 every width with
    W = 512, paired by seed; the claims table reads these rows (it said "no interval"
    for every width when a width report compared nothing)."""
    assert reports.width_pairs(specs.SPECS["fig8"]) == [
        ("quantum_W2", "classical_W2"), ("quantum_W4", "classical_W4"),
        ("quantum_W6", "classical_W6"), ("quantum", "classical")]
    assert reports.width_pairs(specs.SPECS["fig7"]) == [
        ("classical_W2", "classical_W512"), ("classical_W4", "classical_W512"),
        ("classical", "classical_W512"), ("classical_W16", "classical_W512")]
    spec = specs.SPECS["fig8"]
    for variant in spec.variants:
        for seed in (0, 1, 2):
            folder = tmp_path / "runs" / variant.name / f"seed-{seed}" / "probe" / "cached"
            os.makedirs(folder)
            value = 0.3 + 0.01 * variant.width + (0.02 * seed if variant.family == "quantum"
                                                  else 0.0)
            with open(folder / "step-00176.json", "w") as f:
                json.dump(_result(176, value, value), f)
    table = reports.report("fig8", str(tmp_path), [0, 1, 2], "cached")
    # quantum − classical at each width: +0, +2, +4 points over seeds 0-2, mean +2
    for w in (2, 4, 6):
        assert f"| quantum_W{w} − classical_W{w} | 176 | +2.00 |" in table
    assert "| quantum − classical | 176 | +2.00 |" in table
    assert "quantum_W2 − classical_W4" not in table
    rows = json.loads((tmp_path / "fig8.json").read_text())["comparisons"]
    assert {(r["a"], r["b"], r["key"]) for r in rows} == {
        (a, b, key) for a, b in reports.width_pairs(spec) for key in ("final", "best")}
    assert all(r["paired"]["n"] == 3 for r in rows)


def test_a_training_report_with_no_runs_yet_is_written(tmp_path):
    """train.paper --report-only before Fig. 4 has a run: a table, not a traceback."""
    table = reports.report("fig4", str(tmp_path), [0, 1], "cached")
    assert "| quantum_2class | – | not run | not run | – |" in table
    assert "head, seeds [0, 1];" in table  # nothing ran: the seeds asked for
    assert (tmp_path / "fig4.png").exists()
