"""The paper's experiments over seeds: ``python -m train.experiment --spec fig5 --out EXP_DIR``.

For every model variant and seed of a spec: pretrain (``train.pretrain``), probe every
checkpoint (``train.probe``), then aggregate mean ± std across seeds per checkpoint
and write ``EXP_DIR/<spec>.png`` and ``EXP_DIR/<spec>.md`` beside the paper's figures.
Each run is a separate process (``--jobs N`` runs N at once); finished runs and
probes are reused, so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Sequence

import numpy as np

from tfq_ssl import config as config_lib
from train import plots
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
    kind: str = "curves"  # "curves", "width" or "training"


def _widths(
    family: str, preset: str, widths: Iterable[int], extra: tuple[str, ...] = ()
) -> tuple[Variant, ...]:
    return tuple(
        Variant(f"{family}_W{w}", preset, (f"model.width={w}",) + extra, family, w)
        for w in widths
    )


SPECS: dict[str, Spec] = {
    "fig5": Spec(
        "Fig. 5: quantum vs classical representation network (W=8, 5 classes)",
        (Variant("quantum", "paper_5class_quantum"),
         Variant("quantum_100_shots", "paper_5class_quantum_shots100"),
         Variant("classical", "paper_5class_classical")),
        paper={"quantum": (46.51, 1.37), "quantum_100_shots": (46.34, 2.07),
               "classical": (43.49, 1.31)},
    ),
    "fig7": Spec("Fig. 7: classical width ablation",
                 _widths("classical", "paper_5class_classical", (2, 4, 8, 16, 512)), kind="width"),
    "fig8": Spec("Fig. 8: quantum vs classical across widths",
                 _widths("quantum", "paper_5class_quantum", (2, 4, 6, 8))
                 + _widths("classical", "paper_5class_classical", (2, 4, 6, 8)), kind="width"),
    # Beyond the paper, which stopped at W = 8: the tensor-network backend makes wide
    # rings cost about what the classical network does (bench/README.md).
    "wide": Spec("Quantum vs classical at 8-20 qubits/neurons (tensor-network backend)",
                 _widths("quantum", "paper_5class_quantum", (8, 12, 16, 20),
                         ("model.backend=tensornet",))
                 + _widths("classical", "paper_5class_classical", (8, 12, 16, 20)),
                 kind="width"),
    "fig10": Spec(
        "Fig. 10: ring vs all-to-all ansatz vs classical",
        (Variant("ring", "paper_5class_quantum"),
         Variant("all_to_all", "paper_5class_all_to_all"),
         Variant("classical", "paper_5class_classical")),
        paper={"ring": (46.51, 1.37), "all_to_all": (43.46, 1.68), "classical": (43.49, 1.31)},
    ),
    "fig4": Spec("Fig. 4: 2-class training loss and Hilbert–Schmidt metrics",
                 (Variant("quantum_2class", "paper_2class_quantum"),), kind="training"),
}


def run_dir(exp_dir: str, variant: Variant, seed: int) -> str:
    return os.path.join(exp_dir, "runs", variant.name, f"seed-{seed}")


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single value)."""
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "n": int(len(values))}


def aggregate(results: Sequence[dict[str, Any]]) -> dict[int, dict[str, dict[str, float]]]:
    """Per checkpoint step, mean ± std across seeds of final and best accuracy.

    Args:
        results: probe result dicts (``step``, ``final_test_accuracy``,
            ``best_test_accuracy``), one per seed and step.

    Returns:
        ``{step: {"final": {"mean", "std", "n"}, "best": {...}}}``; a step enters only
        when every seed has it, so a curve never mixes different seed sets.
    """
    by_step: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        by_step.setdefault(int(r["step"]), []).append(r)
    counts = max((len(v) for v in by_step.values()), default=0)
    return {
        step: {"final": mean_std([r["final_test_accuracy"] for r in rs]),
               "best": mean_std([r["best_test_accuracy"] for r in rs])}
        for step, rs in sorted(by_step.items()) if len(rs) == counts
    }


def _run(cmd: list[str], log_path: str) -> None:
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log_path}.")


def execute(exp_dir: str, variant: Variant, seed: int, overrides: Sequence[str],
            protocol: str, data_dir: str | None, probe_epochs: int) -> str:
    """Pretrain and probe one (variant, seed), reusing whatever is already done."""
    from train.pretrain import CONFIG_FILE, prepare_run_dir  # noqa: PLC0415

    folder = run_dir(exp_dir, variant, seed)
    config = config_lib.override(
        get_preset(variant.preset),
        [*variant.overrides, f"train.seed={seed}", f"name={json.dumps(variant.name)}", *overrides],
    )
    prepare_run_dir(config, folder)
    log = os.path.join(folder, "experiment.log")
    data = ["--data-dir", data_dir] if data_dir else []
    python = sys.executable
    _run([python, "-m", "train.pretrain", "--config", os.path.join(folder, CONFIG_FILE),
          "--out", folder, "--verbose", "2", *data], log)
    _run([python, "-m", "train.probe", "--run", folder, "--protocol", protocol,
          "--epochs", str(probe_epochs), *data], log)
    return folder


def _probe_results(folder: str, protocol: str) -> list[dict[str, Any]]:
    base = os.path.join(folder, "probe", protocol)
    if not os.path.isdir(base):
        return []
    out = []
    for name in sorted(os.listdir(base)):
        if name.endswith(".json"):
            with open(os.path.join(base, name)) as f:
                out.append(json.load(f))
    return out


def _fmt(stat: dict[str, float]) -> str:
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f} (n={stat['n']})"


def _csv_series(folders: Sequence[str], filename: str, column: str) -> tuple[list[int], list[float], list[float]]:
    series = []
    for folder in folders:
        with open(os.path.join(folder, filename), newline="") as f:
            series.append({int(r["step"]): float(r[column]) for r in csv.DictReader(f)})
    steps = sorted(set.intersection(*(set(s) for s in series)))
    values = np.array([[s[k] for k in steps] for s in series])
    return steps, values.mean(axis=0).tolist(), values.std(axis=0, ddof=1 if len(series) > 1 else 0).tolist()


def report(spec_name: str, exp_dir: str, seeds: Sequence[int], protocol: str) -> str:
    """Aggregate every variant, write the PNG(s) and the Markdown table; return the table."""
    spec = SPECS[spec_name]
    curves = {}
    for v in spec.variants:
        results = [r for s in seeds for r in _probe_results(run_dir(exp_dir, v, s), protocol)]
        curves[v.name] = aggregate(results)
    lines = [f"# {spec.title}", "",
             f"Linear probe, `{protocol}` protocol, seeds {list(seeds)}; accuracy (%) at the last "
             "checkpoint, mean ± sample std across seeds. *Best* picks the epoch on the test "
             "set (the paper's figure); *final* does not.", "",
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
        plots.plot_width_ablation(rows, png, spec.title)
    elif spec.kind == "training":
        folders = [run_dir(exp_dir, spec.variants[0], s) for s in seeds]
        panels = {"NT-Xent loss": _csv_series(folders, "metrics.csv", "loss")}
        for key, label in (("hs_distance", "D_HS"), ("tr_rho2", "tr ρ²"),
                           ("tr_sigma2", "tr σ²"), ("tr_rho_sigma", "tr ρσ")):
            panels[label] = _csv_series(folders, "hilbert_schmidt.csv", key)
        plots.plot_training_panels(panels, png, spec.title)
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_probe.png"),
                                   spec.title)
    else:
        plots.plot_accuracy_curves(curves, png, spec.title, paper=spec.paper)
        plots.plot_accuracy_curves(curves, os.path.join(exp_dir, f"{spec_name}_best.png"),
                                   spec.title, key="best", paper=spec.paper)
    lines += ["", f"![{spec_name}]({spec_name}.png)", ""]
    table = "\n".join(lines)
    with open(os.path.join(exp_dir, f"{spec_name}.md"), "w") as f:
        f.write(table)
    with open(os.path.join(exp_dir, f"{spec_name}.json"), "w") as f:
        json.dump({"spec": spec_name, "protocol": protocol, "seeds": list(seeds),
                   "curves": {k: {str(s): v for s, v in c.items()} for k, c in curves.items()}},
                  f, indent=1)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, choices=sorted(SPECS))
    parser.add_argument("--out", required=True, help="experiment folder (rerun to continue)")
    parser.add_argument("--seeds", type=int, default=6, help="number of seeds (0..N-1)")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--protocol", default="cached", choices=("cached", "paper"))
    parser.add_argument("--probe-epochs", type=int, default=100)
    parser.add_argument("--data-dir", help="TFDS data directory")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override every run's config")
    parser.add_argument("--variants", nargs="+", help="run only these variants of the spec")
    parser.add_argument("--report-only", action="store_true", help="aggregate what exists")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be >= 1.")
    seeds = list(range(args.seeds))
    os.makedirs(args.out, exist_ok=True)
    if not args.report_only:
        names = [v.name for v in SPECS[args.spec].variants]
        unknown = sorted(set(args.variants or []) - set(names))
        if unknown:
            parser.error(f"--variants {unknown} are not in {args.spec}; choose from {names}.")
        jobs = [(v, s) for s in seeds for v in SPECS[args.spec].variants
                if not args.variants or v.name in args.variants]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(execute, args.out, v, s, args.overrides, args.protocol,
                                   args.data_dir, args.probe_epochs) for v, s in jobs]
            for (v, s), fut in zip(jobs, futures):
                print(f"done: {v.name} seed {s} -> {fut.result()}", flush=True)
        print(f"{len(jobs)} runs in {time.perf_counter() - start:.0f}s")
    print(report(args.spec, args.out, seeds, args.protocol))
    print(f"written: {os.path.abspath(args.out)}/{args.spec}.md and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
