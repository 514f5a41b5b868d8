"""Aggregated reports of an experiment: mean ± std and CIs per checkpoint across seeds,
paired and Welch comparisons between variants, the Markdown table and the figures.

What a report reads is each run's probe results (the run folder's, else its ledger
entry's, train/ledger.py); it runs nothing.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Sequence

import numpy as np

from tfq_ssl import plots, rundir, stats
from tfq_ssl import probe_store
from tfq_ssl import files
from tfq_ssl.config import ProbeConfig
from train import controls
from train.specs import SPECS, Spec, Variant, run_config, run_dir


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample std (ddof 1; 0 for one value) and t-based 95 % CI (``stats.describe``)."""
    return stats.describe(values)


def aggregate(results: Sequence[dict[str, Any]]) -> dict[int, dict[str, dict[str, Any]]]:
    """Per checkpoint step, mean ± std and 95 % CI across seeds of final and best accuracy.

    Args:
        results: probe result dicts (``step``, ``final_test_accuracy``,
            ``best_test_accuracy``, optionally ``seed``), one per seed and step.

    Returns:
        ``{step: {"final": {"mean", "std", "n", "ci_low", "ci_high", "values",
        "seeds"}, "best": {...}}}``; a step enters only when every seed has it, so a
        curve never mixes different seed sets.
    """
    by_step: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        by_step.setdefault(int(r["step"]), []).append(r)
    counts = max((len(v) for v in by_step.values()), default=0)

    def column(rs: list[dict[str, Any]], key: str) -> dict[str, Any]:
        values = [float(r[key]) for r in rs]
        return {**mean_std(values), "values": values, "seeds": [r.get("seed") for r in rs]}

    return {step: {"final": column(rs, "final_test_accuracy"),
                   "best": column(rs, "best_test_accuracy")}
            for step, rs in sorted(by_step.items()) if len(rs) == counts}


def width_pairs(spec: Spec) -> list[tuple[str, str]]:
    """The comparisons a width figure makes: each width's first family against the
    others at that width (Fig. 8, wide); with one family, each width against the widest
    (Fig. 7: does W behave like W = 512?)."""
    families = list(dict.fromkeys(v.family for v in spec.variants))
    if len(families) == 1:
        widest = max(spec.variants, key=lambda v: v.width)
        return [(v.name, widest.name) for v in spec.variants if v is not widest]
    by_width: dict[int, list[Variant]] = {}
    for v in spec.variants:
        by_width.setdefault(v.width, []).append(v)
    return [(first.name, other.name) for _, group in sorted(by_width.items())
            for first in group[:1] for other in group[1:]]


def compare(curves: dict[str, dict[int, dict[str, Any]]], paper: dict[str, tuple[float, float]],
            key: str = "final", every_checkpoint: bool = False,
            only: Sequence[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """Every pair of variants (or the pairs ``only`` names, in that order) at their last
    common checkpoint (or at each, with ``every_checkpoint``): Welch's test, the paired
    per-seed difference (seeds both have) and the seeds the paper's claimed difference
    would need at 80 % power given the spread measured here."""
    names = [n for n, c in curves.items() if c]
    out = []
    candidates = (only if only is not None else
                  [(a, b) for i, a in enumerate(names) for b in names[i + 1:]])
    pairs = [(a, b, step) for a, b in candidates if curves.get(a) and curves.get(b)
             for common in [sorted(set(curves[a]) & set(curves[b]))] if common
             for step in (common if every_checkpoint else common[-1:])]
    for a, b, step in pairs:
        sa, sb = curves[a][step][key], curves[b][step][key]
        row: dict[str, Any] = {"a": a, "b": b, "step": step, "key": key}
        if sa["n"] >= 2 and sb["n"] >= 2:
            row["welch"] = stats.welch(sa["values"], sb["values"])
        pa, pb = dict(zip(sa["seeds"], sa["values"])), dict(zip(sb["seeds"], sb["values"]))
        shared = [s for s in pa if s is not None and s in pb]
        if len(shared) >= 2:
            row["paired"] = {**stats.paired([pa[s] for s in shared], [pb[s] for s in shared]),
                             "seeds": shared}
        spread = math.sqrt((sa["std"] ** 2 + sb["std"] ** 2) / 2)
        if a in paper and b in paper and spread > 0:
            claimed = (paper[a][0] - paper[b][0]) / 100
            if claimed:
                row["power"] = {"claimed_difference": claimed, "spread": spread,
                                "seeds_per_arm": stats.seeds_for_power(claimed, spread)}
        out.append(row)
    return out


def _pct_ci(stat: dict[str, Any]) -> str:
    if stat.get("ci_low") is None:
        return "–"
    return f"[{100 * stat['ci_low']:+.2f}, {100 * stat['ci_high']:+.2f}]"


def _p(p: float) -> str:
    """A p-value to three decimals, or in scientific notation below 0.001."""
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def comparison_lines(rows: Sequence[dict[str, Any]], head: str | None = None) -> list[str]:
    """Markdown of :func:`compare`'s rows (``head``: named in the title)."""
    if not rows:
        return []
    key = rows[0]["key"]
    where = ("every common checkpoint" if len({r["step"] for r in rows}) > 1
             else "last common checkpoint")
    named = f"probe head `{head}`, " if head else ""
    lines = ["", f"## Differences between variants ({named}{where}, {key} epoch)", "",
             "Welch's two-sided t test on the seeds of each variant; *paired* is the mean of "
             "the per-seed differences (seed s of both variants saw the same images in the "
             "same order with the same augmentations, so data order and augmentation noise "
             "cancel; weight initialisation differs with the model). 95 % CIs are t-based.", "",
             "| comparison | batches | difference (points) | 95 % CI | Welch p | paired difference | paired 95 % CI | paired p | seeds per arm for the paper's difference (80 % power) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        w, p, pw = r.get("welch"), r.get("paired"), r.get("power")
        cells = [f"{r['a']} − {r['b']}", str(r["step"])]
        cells += ([f"{100 * w['difference']:+.2f}", _pct_ci(w), _p(w["p"])] if w else ["–"] * 3)
        cells += ([f"{100 * p['difference']:+.2f} (n={p['n']})", _pct_ci(p), _p(p["p"])]
                  if p else ["–"] * 3)
        cells.append(f"{pw['seeds_per_arm']} (claimed {100 * pw['claimed_difference']:+.2f} at "
                     f"spread {100 * pw['spread']:.2f})" if pw else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def gap_change(curves: dict[str, dict[int, dict[str, Any]]], key: str = "final"
               ) -> list[dict[str, Any]]:
    """Does a gap grow, stay or close with training? For every pair of variants and every
    common checkpoint after the first: the mean over seeds of seed s's difference a − b
    there minus seed s's difference at the first common checkpoint (seeds with all four
    numbers), with its t-based CI."""
    names = [n for n, c in curves.items() if c]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = sorted(set(curves[a]) & set(curves[b]))

            def gaps(step: int) -> dict[int, float]:
                pa = dict(zip(curves[a][step][key]["seeds"], curves[a][step][key]["values"]))
                pb = dict(zip(curves[b][step][key]["seeds"], curves[b][step][key]["values"]))
                return {s: pa[s] - pb[s] for s in pa if s is not None and s in pb}

            first = gaps(common[0]) if common else {}
            for step in common[1:]:
                later = gaps(step)
                seeds = [s for s in first if s in later]
                if len(seeds) >= 2:
                    out.append({"a": a, "b": b, "from": common[0], "to": step, "key": key,
                                "seeds": seeds, **stats.paired([later[s] for s in seeds],
                                                               [first[s] for s in seeds])})
    return out


def gap_change_lines(rows: Sequence[dict[str, Any]], head: str) -> list[str]:
    """Markdown of :func:`gap_change`'s rows."""
    if not rows:
        return []
    lines = ["", f"## Does the gap change with training? (probe head `{head}`, "
             f"{rows[0]['key']} epoch)", "",
             "Per seed, the difference between the variants at the later checkpoint minus "
             "the same seed's difference at the first; mean over seeds with its t-based 95 % "
             "CI. Above zero: the gap grows; below: it closes.", "",
             "| comparison | batches | change of the gap (points) | 95 % CI | p | seeds |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['a']} − {r['b']} | {r['from']} → {r['to']} | "
                     f"{100 * r['difference']:+.2f} | {_pct_ci(r)} | {_p(r['p'])} | {r['n']} |")
    return lines


def checkpoint_lines(curves: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    """Markdown: final- and best-epoch accuracy of every variant at every probed checkpoint."""
    names = [n for n, c in curves.items() if c]
    steps = sorted(set().union(*(curves[n] for n in names))) if names else []
    if not steps:
        return []
    lines = ["", "## Every probed checkpoint", "",
             f"Checkpoints probed: {', '.join(map(str, steps))}. Accuracy (%), mean ± sample "
             "std [t-based 95 % CI] (n seeds), final epoch / best epoch.", "",
             "| batches | " + " | ".join(f"{n} final | {n} best" for n in names) + " |",
             "|---|" + "---|---|" * len(names)]
    for step in steps:
        cells = []
        for n in names:
            stat = curves[n].get(step)
            cells += [_fmt(stat["final"]), _fmt(stat["best"])] if stat else ["–", "–"]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return lines


def _sources(folder: str, ledger_root: str | None) -> list[str]:
    """A run folder ``.../runs/<variant>/seed-<s>`` and its ledger entry, if any; the
    entry first once it is complete (its config is written last). The ledger is the
    record: a folder trained again on another machine holds another model of the same
    seed (floating point differs between CPUs), and must not replace the ledger's figures."""
    if ledger_root is None:
        return [folder]
    variant, seed = os.path.normpath(folder).split(os.sep)[-2:]
    entry = os.path.join(ledger_root, variant, seed)
    return [entry, folder] if os.path.exists(rundir.config_path(entry)) else [folder, entry]


def probe_results(folder: str, probe: ProbeConfig,
                   ledger_root: str | None = None) -> list[dict[str, Any]]:
    """The run's stored results under ``probe``; those it lacks from its ledger entry."""
    found: dict[str, dict[str, Any]] = {}
    for source in _sources(folder, ledger_root):
        base = probe_store.probe_dir(source, probe)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.startswith("step-") and name.endswith(".json") and name not in found:
                found[name] = files.read_json(os.path.join(base, name),
                                               "delete it and rerun the experiment.")
    return [found[name] for name in sorted(found)]


def _curves(spec: Spec, exp_dir: str, seeds: Sequence[int], probe: ProbeConfig,
            ledger_root: str | None) -> dict[str, dict[int, dict[str, Any]]]:
    """Each variant's results under ``probe``, aggregated across ``seeds`` per checkpoint."""
    return {v.name: aggregate([{**r, "seed": s} for s in seeds
                               for r in probe_results(run_dir(exp_dir, v, s), probe, ledger_root)])
            for v in spec.variants}


def _other_heads_lines(spec: Spec, exp_dir: str, seeds: Sequence[int],
                       probes: Sequence[ProbeConfig], ledger_root: str | None) -> list[str]:
    """Markdown: each further probe head's accuracy per variant at its last checkpoint."""
    lines = []
    for probe in probes:
        lines += ["", f"## Probe head `{probe.head}`", "",
                  "| variant | batches | final-epoch accuracy |", "|---|---|---|"]
        for name, curve in _curves(spec, exp_dir, seeds, probe, ledger_root).items():
            last = max(curve) if curve else None
            lines.append(f"| {name} | {last or '–'} | "
                         f"{_fmt(curve[last]['final']) if curve else 'not run'} |")
    return lines


def _fmt(stat: dict[str, Any]) -> str:
    ci = "" if stat.get("ci_low") is None else (
        f" [{100 * stat['ci_low']:.2f}, {100 * stat['ci_high']:.2f}]")
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}{ci} (n={stat['n']})"


def logs_folder(folder: str, ledger_root: str | None) -> str | None:
    """Where a run's step logs are: its folder, else its ledger entry, else nowhere."""
    return next((f for f in _sources(folder, ledger_root)
                 if os.path.exists(os.path.join(f, rundir.METRICS_FILE))), None)


def step_logs(folders: Sequence[str], filename: str, column: str
              ) -> list[list[tuple[int, float]]]:
    """Each run's ``(step, value)`` rows of one column of a step log, in file order. A
    run without the file (stopped before it logged it, e.g. before its first
    checkpoint) is left out: the callers' n says how many runs count."""
    logs = []
    for folder in folders:
        path = os.path.join(folder, filename)
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            logs.append([(int(r["step"]), float(r[column])) for r in csv.DictReader(f)])
    return logs


def _csv_series(folders: Sequence[str], filename: str, column: str
                ) -> tuple[list[int], list[float], list[float]]:
    """Steps, the mean across runs, and the half-width of its t-based 95 % CI (zero
    below two runs), at the steps every run logged."""
    series = [dict(rows) for rows in step_logs(folders, filename, column)]
    if not series:  # no run of the figure has finished yet
        return [], [], []
    steps = sorted(set.intersection(*(set(s) for s in series)))
    values = np.array([[s[k] for k in steps] for s in series])
    half = np.zeros(len(steps))
    if len(series) > 1:
        half = np.array([stats.describe(v)["ci_high"] - v.mean() for v in values.T])
    return steps, values.mean(axis=0).tolist(), half.tolist()


def heading(spec: Spec, overrides: Sequence[str] = ()) -> str:
    """The spec's title with the settings its runs share, as they are after ``overrides``
    (a title fixed in the spec said W=8 after ``--set model.width=2``)."""
    configs = [run_config(v, 0, overrides) for v in spec.variants]
    first = configs[0]
    classes = first.data.classes
    parts = [f"{classes} classes" if isinstance(classes, int) else f"classes {list(classes)}",
             f"{first.train.steps} batches of {first.train.batch_size}"]
    if spec.kind != "width" and len({c.model.width for c in configs}) == 1:
        layers = {c.model.layers for c in configs if c.model.representation == "quantum"}
        parts.insert(0, f"W={first.model.width}" + (f", L={layers.pop()}" if len(layers) == 1
                                                     else ""))
    return f"{spec.title} ({', '.join(parts)})"


def report(spec_name: str, exp_dir: str, seeds: Sequence[int], protocol: str,
           probe_epochs: int = ProbeConfig.epochs, heads: Sequence[str] = ("adam",),
           ledger_root: str | None = None, overrides: Sequence[str] = ()) -> str:
    """Aggregate every variant, write the PNG(s) and the Markdown table; return the table.

    The figures and comparisons are those of the first of ``heads``; every other head
    gets a table of its own (and, for the controls, a full section). Results missing
    from ``exp_dir`` are read from the ledger at ``ledger_root`` (train/ledger.py).
    """
    spec = SPECS[spec_name]
    probes = [ProbeConfig(protocol=protocol, epochs=probe_epochs, head=h)
              for h in dict.fromkeys(heads)]
    probe = probes[0]
    curves = _curves(spec, exp_dir, seeds, probe, ledger_root)
    title = heading(spec, overrides)
    changed = ([f"Settings changed from the presets: {', '.join(f'`{o}`' for o in overrides)}.",
                ""] if overrides else [])
    # The seeds that have results, not those asked for: train.paper asks every figure for
    # the most seeds any figure has, and a 5-seed figure must not claim 10.
    found = sorted({s for curve in curves.values() for step in curve.values()
                    for s in step["final"]["seeds"] if s is not None}) or list(seeds)
    lines = [f"# {title}", "", *changed,
             f"Linear probe, `{protocol}` protocol, `{probe.head}` head, seeds {found}; "
             "accuracy (%) at the last "
             "checkpoint, mean ± sample std across seeds [t-based 95 % confidence interval of the "
             "mean]. *Best* picks the epoch on the test set (the paper's figure); *final* does "
             "not.", "",
             "| variant | batches | final-epoch accuracy | best-epoch accuracy | paper (end of training) |",
             "|---|---|---|---|---|"]
    for v in spec.variants:
        by_step = curves[v.name]
        if not by_step:
            lines.append(f"| {v.name} | – | not run | not run | – |")
            continue
        last = max(by_step)
        paper = spec.paper.get(v.name)
        paper_txt = f"{paper[0]:.2f} ± {paper[1]:.2f}" if paper else "–"
        lines.append(f"| {v.name} | {last} | {_fmt(by_step[last]['final'])} | "
                     f"{_fmt(by_step[last]['best'])} | {paper_txt} |")
    if any(v.name not in spec.paper for v in spec.variants):
        lines += ["", "*Paper* –: the paper gives no number for that variant (a plot only, "
                  "or not in the paper)."]
    png = os.path.join(exp_dir, f"{spec_name}.png")
    if spec.kind == "width":
        rows: dict[str, dict[int, dict]] = {}
        for v in spec.variants:
            if curves[v.name]:
                rows.setdefault(v.family, {})[v.width] = curves[v.name][max(curves[v.name])]
        plots.plot_width_ablation(rows, png, title)
    elif spec.kind == "training":
        folders = [f for s in seeds
                   if (f := logs_folder(run_dir(exp_dir, spec.variants[0], s), ledger_root))]
        panels = {"NT-Xent loss": _csv_series(folders, "metrics.csv", "loss")}
        for key, label in (("hs_distance", "D_HS"), ("tr_rho2", "tr ρ²"),
                           ("tr_sigma2", "tr σ²"), ("tr_rho_sigma", "tr ρσ")):
            panels[label] = _csv_series(folders, "hilbert_schmidt.csv", key)
        plots.plot_training_panels(panels, png, title + f" (band: 95 % CI of the mean, "
                                   f"{len(folders)} seeds)")
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_probe.png"),
                                   title)
    elif spec.kind == "curves":
        plots.plot_accuracy_curves(curves, png, title, paper=spec.paper)
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_best.png"),
                                   title, key="best", paper=spec.paper)
    comparisons: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    if spec.kind == "controls":
        results = {p.head: {v.name: {s: {int(r["step"]): r
                                         for r in probe_results(run_dir(exp_dir, v, s), p,
                                                                 ledger_root)}
                                     for s in seeds}
                            for v in spec.variants}
                   for p in probes}
        section, extra["controls"] = controls.controls_lines(results,
                                                             [v.name for v in spec.variants])
        lines += section
        plots.plot_controls(extra["controls"], png, title)
    if spec.kind in ("curves", "controls", "width"):
        only = width_pairs(spec) if spec.kind == "width" else None
        for key in ("final", "best"):
            rows = compare(curves, spec.paper, key=key, every_checkpoint=spec.every_checkpoint,
                           only=only)
            comparisons += rows
            lines += comparison_lines(rows)
        if spec.kind != "width":
            lines += checkpoint_lines(curves)
    if spec.every_checkpoint:
        extra["gap_change"] = {}
        for p in probes:
            by_head = curves if p == probe else _curves(spec, exp_dir, seeds, p, ledger_root)
            if p != probe:
                rows = compare(by_head, spec.paper, every_checkpoint=True)
                comparisons += [{**r, "head": p.head} for r in rows]
                lines += comparison_lines(rows, p.head)
            extra["gap_change"][p.head] = gap_change(by_head)
            lines += gap_change_lines(extra["gap_change"][p.head], p.head)
    if spec.kind != "controls":
        lines += _other_heads_lines(spec, exp_dir, seeds, probes[1:], ledger_root)
    lines += ["", f"![{spec_name}]({spec_name}.png)", ""]
    table = "\n".join(lines)
    files.atomic_write_text(os.path.join(exp_dir, f"{spec_name}.md"), table)
    files.atomic_write_json(os.path.join(exp_dir, f"{spec_name}.json"), {
        "spec": spec_name, "protocol": protocol, "probe_epochs": probe_epochs, "seeds": list(seeds),
        "heads": [p.head for p in probes], "comparisons": comparisons, **extra,
        "curves": {k: {str(s): v for s, v in c.items()} for k, c in curves.items()}})
    return table
