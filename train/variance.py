"""Where a result's seed-to-seed spread comes from: one source of randomness at a time.

    python -m train.variance --preset paper_5class_classical --out DIR [--seeds 5] [--data-dir D]

Three sources, each varied over seeds 0..N-1 while the other two stay at seed 0:

- init: the weights' initialisation (train.seed = s, train.data_seed = 0);
- data: the order of the images and their augmentations (train.seed = 0,
  train.data_seed = s);
- probe: the linear probe's own seed (its head's initialisation and batch order), on
  the run seeded (0, 0).

The (0, 0) run is shared by the three. Every run is pretrained and its last
checkpoint probed by train.experiment's executors (--executor, --jobs; a rerun reuses
what is done). DIR/variance.md gives each source's accuracies, sample
std with its chi-square 95 % CI and share of the summed variance, and the spread the
three would give together; DIR/variance.json holds the values.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from tfq_ssl import cli, stats
from tfq_ssl import probe_store
from tfq_ssl import files
from tfq_ssl import config_io
from tfq_ssl.config import ProbeConfig, RunConfig, checkpoint_steps
from train import sweep
from train.presets import PRESETS, get_preset

SOURCES = {"init": "weight initialisation (train.seed)",
           "data": "data order and augmentations (train.data_seed)",
           "probe": "the probe's own seed (head initialisation, batch order)"}
KEYS = ("final", "best")


def run_configs(preset: str, seeds: int, overrides: Sequence[str] = ()) -> dict[str, RunConfig]:
    """``{"base": (0, 0), "init-s": (s, 0), "data-s": (0, s)}`` as (train.seed, train.data_seed)."""
    base = config_io.override(get_preset(preset), list(overrides))

    def seeded(seed: int, data_seed: int) -> RunConfig:
        return config_io.override(base, [f"train.seed={seed}", f"train.data_seed={data_seed}"])

    out = {"base": seeded(0, 0)}
    for s in range(1, seeds):
        out[f"init-{s}"] = seeded(s, 0)
        out[f"data-{s}"] = seeded(0, s)
    return out


def shares(values: dict[str, Sequence[float]]) -> dict[str, dict[str, Any]]:
    """Per source: mean, sample std, its CI, variance and share of the summed variance."""
    out = {}
    for name, vals in values.items():
        summary = stats.describe(vals)
        out[name] = {**summary, "values": list(vals), "std_ci": list(stats.std_interval(vals)),
                     "variance": float(summary["std"]) ** 2}
    total = sum(s["variance"] for s in out.values())
    for s in out.values():
        s["share"] = s["variance"] / total if total else 0.0
    return out


def report_lines(preset: str, by_key: dict[str, dict[str, dict[str, Any]]], step: int,
                 probe: ProbeConfig) -> list[str]:
    lines = [f"# Where the spread comes from: {preset}", "",
             f"Linear probe (`{probe.protocol}`, {probe.epochs} epochs) at the last checkpoint "
             f"(batch {step}). Each source is varied over its seeds while the other two stay "
             "at seed 0; accuracy (%), sample std with its chi-square 95 % CI, and the share "
             "of the summed variance (the three sources taken as independent and additive). "
             "The probe's seed is held, but a probe on other features draws other noise, so "
             "the init and data rows include the probe's own spread.", ""]
    for key in KEYS:
        rows = by_key[key]
        lines += [f"## {key.capitalize()} epoch", "",
                  "| source | seeds | accuracies | mean | std [95 % CI] | share of variance |",
                  "|---|---|---|---|---|---|"]
        for name, s in rows.items():
            accs = ", ".join(f"{100 * v:.2f}" for v in s["values"])
            lines.append(f"| {SOURCES[name]} | {s['n']} | {accs} | {100 * s['mean']:.2f} | "
                         f"{100 * s['std']:.2f} [{100 * s['std_ci'][0]:.2f}, "
                         f"{100 * s['std_ci'][1]:.2f}] | {100 * s['share']:.0f} % |")
        together = math.sqrt(sum(s["variance"] for s in rows.values()))
        lines += ["", f"All three together (root of the summed variances): "
                      f"{100 * together:.2f} points.", ""]
    return lines


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.variance", description=description,
                                epilog=epilog)
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS),
                        help="the runs' preset")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="study folder (rerun to continue)")
    parser.add_argument("--seeds", type=cli.int_at_least(2), default=5,
                        help="seeds per source, 0..N-1 (default 5)")
    sweep.add_executor_options(parser)
    sweep.add_options(parser)
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    cli.check_out_folder(args.out)
    sweep.check_executor(args)
    configs = run_configs(args.preset, args.seeds, args.overrides)  # every config checked first
    folders = {name: os.path.abspath(os.path.join(args.out, "runs", name)) for name in configs}
    probe = sweep.probe_config(args)
    jobs = [sweep.Job(name, config, folders[name],  # probe the last checkpoint only
                      probe_every=len(checkpoint_steps(config.train)))
            for name, config in configs.items()]
    with files.locked(args.out):
        outcome = sweep.execute(jobs, probe, args)
        if outcome.failed:
            print(sweep.failure_line("train.variance", outcome), file=sys.stderr)
            return 1
        step = jobs[0].probe_steps[-1]
        cli.load_tensorflow()
        from models.linear_probe import probe_run, split_arrays  # noqa: PLC0415
        from models.run import Run  # noqa: PLC0415

        base = folders["base"]
        splits = tuple(split_arrays(d) for d in Run(base).splits(args.data_dir))
        probe_seeds = [probe_run(base, [step], dataclasses.replace(probe, seed=s),
                                 data_dir=args.data_dir, datasets=splits)[0]
                       for s in range(1, args.seeds)]
        results = {name: probe_store.read_probe_result(folder, probe, step)
                   for name, folder in folders.items()}
        runs = {"init": [results["base"]] + [results[f"init-{s}"] for s in range(1, args.seeds)],
                "data": [results["base"]] + [results[f"data-{s}"] for s in range(1, args.seeds)],
                "probe": [results["base"], *probe_seeds]}
        by_key = {key: shares({src: [r[f"{key}_test_accuracy"] for r in rs]
                               for src, rs in runs.items()}) for key in KEYS}
        text = "\n".join(report_lines(args.preset, by_key, step, probe))
        files.atomic_write_text(os.path.join(args.out, "variance.md"), text)
        files.atomic_write_json(os.path.join(args.out, "variance.json"), {
            "preset": args.preset, "seeds": args.seeds, "step": step,
            "probe": dataclasses.asdict(probe), "sources": by_key})
    print(text)
    print(f"written: {os.path.abspath(args.out)}/variance.md and .json")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.variance", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
