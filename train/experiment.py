"""The paper's experiments over seeds, pretrained, probed and aggregated.

    python -m train.experiment --spec fig5 --out EXP_DIR [--seeds 6] [--jobs 2]
    python -m train.experiment --spec fig5 --out EXP_DIR --executor ray [--address ADDR]

For every model variant and seed of a spec: pretrain (train.pretrain), probe every
checkpoint (train.probe), then aggregate mean ± std across seeds per checkpoint and
write EXP_DIR/<spec>.png and EXP_DIR/<spec>.md beside the paper's figures. By default
each run is a pair of local processes (--jobs N runs N at once) that log to the run
folder's experiment.log; with --executor ray every pretraining and every checkpoint's
probe is a Ray task on a cluster whose workers share EXP_DIR's filesystem
(train/sweep.py). Finished runs and probes are reused, so an interrupted experiment
continues where it stopped. One experiment process at a time may use a folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sys
import time
from typing import Any, Iterable, Sequence

import numpy as np

from tfq_ssl import cli, plots, rundir, stats
from tfq_ssl import config as config_lib
from tfq_ssl.config import ProbeConfig
from train import controls, ledger, sweep
from train.presets import get_preset


@dataclasses.dataclass(frozen=True)
class Variant:
    """One model of a spec: a preset plus overrides; ``width`` groups width ablations."""

    name: str
    preset: str
    overrides: tuple[str, ...] = ()
    family: str = ""
    width: int | None = None


@dataclasses.dataclass(frozen=True)
class Spec:
    """A figure of the paper: its variants and the paper's end-of-training figures (%)."""

    title: str
    variants: tuple[Variant, ...]
    paper: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    kind: str = "curves"  # "curves", "width", "training" or "controls"
    every_checkpoint: bool = False  # compare the variants at every common checkpoint


def _widths(
    family: str, preset: str, widths: Iterable[int], extra: tuple[str, ...] = ()
) -> tuple[Variant, ...]:
    return tuple(
        Variant(f"{family}_W{w}", preset, (f"model.width={w}",) + extra, family, w)
        for w in widths
    )


SPECS: dict[str, Spec] = {
    "fig5": Spec(
        "Fig. 5: quantum vs classical representation network",
        # The circuits run on the statevector engine: the same exact expectations as
        # TFQ's (tests/tfq_ssl/quantum), and 100 shots at 0.7 s a step instead of 53 s.
        (Variant("quantum", "paper_5class_quantum", ("model.engine=statevector",)),
         Variant("quantum_100_shots", "paper_5class_quantum_shots100",
                 ("model.engine=statevector",)),
         Variant("classical", "paper_5class_classical")),
        paper={"quantum": (46.51, 1.37), "quantum_100_shots": (46.34, 2.07),
               "classical": (43.49, 1.31)},
    ),
    "fig7": Spec("Fig. 7: classical width ablation",
                 _widths("classical", "paper_5class_classical", (2, 4, 8, 16, 512)), kind="width"),
    "fig8": Spec("Fig. 8: quantum vs classical across widths",
                 _widths("quantum", "paper_5class_quantum", (2, 4, 6, 8))
                 + _widths("classical", "paper_5class_classical", (2, 4, 6, 8)), kind="width"),
    # Beyond the paper, which stopped at W = 8: the tensor-network engine makes wide
    # rings cost about what the classical network does (bench/README.md).
    "wide": Spec("Quantum vs classical at 8-20 qubits/neurons (tensor-network engine)",
                 _widths("quantum", "paper_5class_quantum", (8, 12, 16, 20),
                         ("model.engine=tensornet",))
                 + _widths("classical", "paper_5class_classical", (8, 12, 16, 20)),
                 kind="width"),
    "fig10": Spec(
        "Fig. 10: ring vs all-to-all ansatz vs classical",
        (Variant("ring", "paper_5class_quantum"),
         Variant("all_to_all", "paper_5class_all_to_all"),
         Variant("classical", "paper_5class_classical")),
        paper={"ring": (46.51, 1.37), "all_to_all": (43.46, 1.68), "classical": (43.49, 1.31)},
    ),
    # Issue 23: which property of the circuit carries Fig. 5's gain? The ring without its
    # entanglement, classical networks with bounded (tanh) or bounded and periodic (cos)
    # outputs, and no representation network at all. "quantum" and "classical" are
    # Fig. 5's variants (same names, presets and overrides), so one experiment folder
    # serves both specs and their runs are shared.
    "controls": Spec(
        "Controls: is Fig. 5's advantage quantum?",
        (Variant("quantum", "paper_5class_quantum", ("model.engine=statevector",)),
         Variant("quantum_ring_product", "paper_5class_quantum",
                 ("model.ansatz=ring_product", "model.engine=statevector")),
         Variant("classical", "paper_5class_classical"),
         Variant("classical_cos", "paper_5class_classical", ("model.activation=cos",)),
         Variant("classical_tanh", "paper_5class_classical", ("model.activation=tanh",)),
         Variant("identity", "paper_5class_classical", ("model.representation=identity",))),
        paper={"quantum": (46.51, 1.37), "classical": (43.49, 1.31)}, kind="controls",
    ),
    # Issue 23: does the gap grow, stay or close with longer pretraining? Fig. 5's two
    # arms at 5 epochs (485 batches of 256), saved and probed at 176 (Fig. 5's end:
    # the same batches, so its checkpoint 176 is Fig. 5's run), 352 and 485.
    "longer": Spec(
        "Longer pretraining: Fig. 5's arms at 5 epochs",
        (Variant("quantum_485", "paper_5class_quantum",
                 ("model.engine=statevector", "train.steps=485", "train.save_every=176")),
         Variant("classical_485", "paper_5class_classical",
                 ("train.steps=485", "train.save_every=176"))),
        every_checkpoint=True,
    ),
    "fig4": Spec("Fig. 4: 2-class training loss and Hilbert–Schmidt metrics",
                 (Variant("quantum_2class", "paper_2class_quantum"),), kind="training"),
}


# Keys that make a variant what it is: an override of one would put another model
# under the variant's name (and into its run folders).
IDENTITY_KEYS = ("model.representation", "model.ansatz", "model.activation")


def check_identity(spec: Spec, overrides: Sequence[str]) -> None:
    """Refuse ``--set`` keys that would change what a variant is: the representation,
    ansatz and activation always, and a key a variant of the spec sets itself, to
    another value than the variant's."""
    def split(item: str) -> tuple[str, str]:
        key, _, value = item.partition("=")
        return key.strip(), value.strip()

    set_by_spec = [split(o) for v in spec.variants for o in v.overrides]
    for item in overrides:
        key, value = split(item)
        if key in IDENTITY_KEYS or any(k == key and v != value for k, v in set_by_spec):
            raise config_lib.ConfigError(
                f"--set {key} would change what the spec's variants are (their names and run "
                f"folders would hold another model); choose variants with --variants, or "
                f"pretrain a model of your own with train.pretrain.")


def run_dir(exp_dir: str, variant: Variant, seed: int) -> str:
    return os.path.join(exp_dir, "runs", variant.name, f"seed-{seed}")


def run_config(variant: Variant, seed: int, overrides: Sequence[str] = ()) -> config_lib.RunConfig:
    """The validated config of one (variant, seed) with the experiment's overrides."""
    return config_lib.override(
        get_preset(variant.preset),
        [*variant.overrides, f"train.seed={seed}", f"name={json.dumps(variant.name)}", *overrides],
    )


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


def compare(curves: dict[str, dict[int, dict[str, Any]]], paper: dict[str, tuple[float, float]],
            key: str = "final", every_checkpoint: bool = False) -> list[dict[str, Any]]:
    """Every pair of variants at their last common checkpoint (or at each, with
    ``every_checkpoint``): Welch's test, the paired per-seed difference (seeds both
    have) and the seeds the paper's claimed difference would need at 80 % power given
    the spread measured here."""
    names = [n for n, c in curves.items() if c]
    out = []
    pairs = [(a, b, step) for i, a in enumerate(names) for b in names[i + 1:]
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


def comparison_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown of :func:`compare`'s rows."""
    if not rows:
        return []
    key = rows[0]["key"]
    where = ("every common checkpoint" if len({r["step"] for r in rows}) > 1
             else "last common checkpoint")
    lines = ["", f"## Differences between variants ({where}, {key} epoch)", "",
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


def _probe_results(folder: str, probe: ProbeConfig,
                   ledger_root: str | None = None) -> list[dict[str, Any]]:
    """The run's stored results under ``probe``; those it lacks from its ledger entry."""
    found: dict[str, dict[str, Any]] = {}
    sources = [folder]
    if ledger_root is not None:
        variant, seed = os.path.normpath(folder).split(os.sep)[-2:]
        sources.append(os.path.join(ledger_root, variant, seed))
    for source in sources:
        base = rundir.probe_dir(source, probe)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.startswith("step-") and name.endswith(".json") and name not in found:
                found[name] = rundir.read_json(os.path.join(base, name),
                                               "delete it and rerun the experiment.")
    return [found[name] for name in sorted(found)]


def _other_heads_lines(spec: Spec, exp_dir: str, seeds: Sequence[int],
                       probes: Sequence[ProbeConfig], ledger_root: str | None) -> list[str]:
    """Markdown: each further probe head's accuracy per variant at its last checkpoint."""
    lines = []
    for probe in probes:
        lines += ["", f"## Probe head `{probe.head}`", "",
                  "| variant | batches | final-epoch accuracy |", "|---|---|---|"]
        for v in spec.variants:
            curve = aggregate([{**r, "seed": s} for s in seeds
                               for r in _probe_results(run_dir(exp_dir, v, s), probe, ledger_root)])
            last = max(curve) if curve else None
            lines.append(f"| {v.name} | {last or '–'} | "
                         f"{_fmt(curve[last]['final']) if curve else 'not run'} |")
    return lines


def _fmt(stat: dict[str, Any]) -> str:
    ci = "" if stat.get("ci_low") is None else (
        f" [{100 * stat['ci_low']:.2f}, {100 * stat['ci_high']:.2f}]")
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}{ci} (n={stat['n']})"


def _csv_series(folders: Sequence[str], filename: str, column: str) -> tuple[list[int], list[float], list[float]]:
    series = []
    for folder in folders:
        with open(os.path.join(folder, filename), newline="") as f:
            series.append({int(r["step"]): float(r[column]) for r in csv.DictReader(f)})
    steps = sorted(set.intersection(*(set(s) for s in series)))
    values = np.array([[s[k] for k in steps] for s in series])
    return steps, values.mean(axis=0).tolist(), values.std(axis=0, ddof=1 if len(series) > 1 else 0).tolist()


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
    curves = {}
    for v in spec.variants:
        results = [{**r, "seed": s} for s in seeds
                   for r in _probe_results(run_dir(exp_dir, v, s), probe, ledger_root)]
        curves[v.name] = aggregate(results)
    title = heading(spec, overrides)
    changed = ([f"Settings changed from the presets: {', '.join(f'`{o}`' for o in overrides)}.",
                ""] if overrides else [])
    lines = [f"# {title}", "", *changed,
             f"Linear probe, `{protocol}` protocol, `{probe.head}` head, seeds {list(seeds)}; "
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
    png = os.path.join(exp_dir, f"{spec_name}.png")
    if spec.kind == "width":
        rows: dict[str, dict[int, dict]] = {}
        for v in spec.variants:
            if curves[v.name]:
                rows.setdefault(v.family, {})[v.width] = curves[v.name][max(curves[v.name])]
        plots.plot_width_ablation(rows, png, title)
    elif spec.kind == "training":
        folders = [run_dir(exp_dir, spec.variants[0], s) for s in seeds]
        panels = {"NT-Xent loss": _csv_series(folders, "metrics.csv", "loss")}
        for key, label in (("hs_distance", "D_HS"), ("tr_rho2", "tr ρ²"),
                           ("tr_sigma2", "tr σ²"), ("tr_rho_sigma", "tr ρσ")):
            panels[label] = _csv_series(folders, "hilbert_schmidt.csv", key)
        plots.plot_training_panels(panels, png, title)
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_probe.png"),
                                   title)
    elif spec.kind == "curves":
        plots.plot_accuracy_curves(curves, png, title, paper=spec.paper)
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_best.png"),
                                   title, key="best", paper=spec.paper)
    comparisons = []
    extra: dict[str, Any] = {}
    if spec.kind == "controls":
        results = {p.head: {v.name: {s: {int(r["step"]): r
                                         for r in _probe_results(run_dir(exp_dir, v, s), p,
                                                                 ledger_root)}
                                     for s in seeds}
                            for v in spec.variants}
                   for p in probes}
        section, extra["controls"] = controls.controls_lines(results,
                                                             [v.name for v in spec.variants])
        lines += section
        plots.plot_controls(extra["controls"], png, title)
    if spec.kind in ("curves", "controls"):
        for key in ("final", "best"):
            rows = compare(curves, spec.paper, key=key, every_checkpoint=spec.every_checkpoint)
            comparisons += rows
            lines += comparison_lines(rows)
        lines += checkpoint_lines(curves)
    if spec.kind != "controls":
        lines += _other_heads_lines(spec, exp_dir, seeds, probes[1:], ledger_root)
    lines += ["", f"![{spec_name}]({spec_name}.png)", ""]
    table = "\n".join(lines)
    rundir.atomic_write_text(os.path.join(exp_dir, f"{spec_name}.md"), table)
    rundir.atomic_write_json(os.path.join(exp_dir, f"{spec_name}.json"), {
        "spec": spec_name, "protocol": protocol, "probe_epochs": probe_epochs, "seeds": list(seeds),
        "heads": [p.head for p in probes], "comparisons": comparisons, **extra,
        "curves": {k: {str(s): v for s, v in c.items()} for k, c in curves.items()}})
    return table


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.experiment", description=description,
                                epilog=epilog)
    parser.add_argument("--spec", required=True, choices=sorted(SPECS),
                        help="which figure: " + "; ".join(f"{k}: {v.title}" for k, v in sorted(SPECS.items())))
    parser.add_argument("--out", required=True, metavar="EXP_DIR",
                        help="experiment folder (rerun to continue)")
    parser.add_argument("--seeds", type=cli.positive_int, default=6,
                        help="number of seeds, 0..N-1 (default 6, as the paper)")
    parser.add_argument("--jobs", type=cli.positive_int, default=1,
                        help="local executor: runs in parallel processes (default 1)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local: processes on this machine (default); ray: Ray tasks, on "
                             "the cluster at --address or on a local Ray instance")
    parser.add_argument("--address", metavar="ADDR",
                        help="ray: the cluster to join (e.g. auto, or HOST:6379); default: "
                             "start a local instance")
    parser.add_argument("--cpus-per-task", type=cli.positive_int, default=2,
                        help="ray: CPUs each task declares and uses (default 2)")
    parser.add_argument("--gpus-per-task", type=cli.non_negative_float, default=None,
                        help="ray: GPUs each task declares (default: 1 where the cluster "
                             "has GPUs, else 0)")
    parser.add_argument("--retries", type=cli.non_negative_int, default=2,
                        help="ray: attempts after the first for a failed task (default 2)")
    sweep.add_options(parser)
    parser.add_argument("--probe-every", type=cli.positive_int, default=1, metavar="K",
                        help="probe every K-th checkpoint and the last (default 1: all); "
                             "the report says which were probed")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="run only these variants of the spec")
    parser.add_argument("--ledger", metavar="DIR",
                        help="a results ledger (e.g. docs/results/ledger in a checkout): each "
                             "finished run's config, logs and probe results are copied there, "
                             "runs it already holds are skipped, and the report reads results "
                             "missing from EXP_DIR from it")
    parser.add_argument("--report-only", action="store_true",
                        help="aggregate what exists, run nothing")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    spec = SPECS[args.spec]
    seeds = list(range(args.seeds))
    names = [v.name for v in spec.variants]
    unknown = sorted(set(args.variants or []) - set(names))
    if unknown:
        raise config_lib.ConfigError(
            f"--variants {unknown} are not in {args.spec}; choose from {names}.")
    check_identity(spec, args.overrides)
    if args.executor == "ray":
        sweep.check_address(args.address)
    jobs = [sweep.Job(f"{v.name} seed {s}", run_config(v, s, args.overrides),
                      os.path.abspath(run_dir(args.out, v, s)), args.probe_every,
                      ledger.entry(args.ledger, v.name, s) if args.ledger else None)
            for s in seeds for v in spec.variants
            if not args.variants or v.name in args.variants]  # every config checked first
    probe = sweep.probe_configs(args)
    outcome = None
    with rundir.locked(args.out):
        if not args.report_only:
            start = time.perf_counter()
            if args.executor == "ray":
                outcome = sweep.run_ray(jobs, probe, args.data_dir, address=args.address,
                                        cpus_per_task=args.cpus_per_task,
                                        gpus_per_task=args.gpus_per_task, retries=args.retries)
                what = "tasks"
            else:
                outcome = sweep.run_local(jobs, probe, args.data_dir, args.jobs)
                what = "runs"
            kept = f", {outcome.reused} already done" if outcome.reused else ""
            print(f"{outcome.done} of {outcome.total} {what} done in "
                  f"{time.perf_counter() - start:.0f}s{kept}")
        print(report(args.spec, args.out, seeds, args.protocol, args.probe_epochs,
                     [p.head for p in probe], args.ledger, args.overrides))
    print(f"written: {os.path.abspath(args.out)}/{args.spec}.md and .png")
    if outcome is not None and outcome.failed:
        print(sweep.failure_line("train.experiment", outcome), file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.experiment", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
