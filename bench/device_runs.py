"""Trained models on today's IBM devices (fake backends): two studies of issue 18.

``noise``: is a model trained under a device's noise (``model.noise_from``) more
accurate on that device than the same model trained exact? Paired by seed.

    python -m bench.device_runs noise --exp EXP --backend fake_fez --seeds 5 \\
        --variants quantum quantum_noise_fez --images 300 --shots 1000 --out DIR

``fig6``: the paper's Fig. 6 evaluation (one quantum model, the same random test
images as one classical model) on several devices, with and without the error
options (readout mitigation and dynamical decoupling; twirling with --twirling).

    python -m bench.device_runs fig6 --quantum RUN --classical RUN \\
        --backends fake_paris fake_fez fake_miami --images 900 --shots 100 --out DIR

Every evaluation is ``python -m convert.evaluate`` (or ``train.confusion`` for the
classical model) in its own folder under DIR, so a rerun resumes where it stopped;
the figures are printed as Markdown and written to DIR/<study>.json.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Sequence

from tfq_ssl import cli, files, rundir, stats


# Twirling is left to --twirling: on a fake backend it multiplies the simulated circuits
# (the Sampler's randomizations) and cannot help, the noise model being incoherent
# already (docs/results/device.md, section 2).
MITIGATED = ("--readout-mitigation", "--dd", "XY4")


def _evaluate(run: str, backend: str, out: str, args: Any, extra: Sequence[str] = ()) -> dict:
    summary = os.path.join(out, "summary.json")
    if not os.path.exists(summary):
        data = ["--data-dir", args.data_dir] if args.data_dir else []
        cli.run_module(["convert.evaluate", "--run", run, "--backend", backend, "--images",
                        str(args.images), "--shots", str(args.shots), "--seed", str(args.seed),
                        "--out", out, *extra, *data], os.path.join(args.out, "device_runs.log"))
    return files.read_json(summary, f"delete {out} and rerun to evaluate again.")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _accuracy(correct: float, n: int) -> str:
    low, high = stats.wilson(round(correct * n), n)
    return f"{_pct(correct)} [{_pct(low)}, {_pct(high)}]"


def _noise_runs(args: Any) -> dict[str, dict[int, str]]:
    return {variant: {seed: os.path.join(args.exp, "runs", variant, f"seed-{seed}")
                      for seed in range(args.seeds)} for variant in args.variants}


def check(args: Any) -> None:
    """Every run folder and device named, before anything is written or evaluated (the
    evaluations run in children, one after the other, for hours)."""
    from convert.backends import get_backend  # noqa: PLC0415 - Qiskit only past --help

    runs = ([args.quantum, args.classical] if args.study == "fig6" else
            [run for by_seed in _noise_runs(args).values() for run in by_seed.values()])
    for run in runs:
        rundir.read_config(run)
    for backend in (args.backends if args.study == "fig6" else [args.backend]):
        if backend.strip().lower().startswith("fake_"):
            get_backend(backend)  # a real device is only checked when its evaluation runs


def noise(args: Any) -> dict[str, Any]:
    rows: dict[str, dict[int, dict]] = {}
    for variant, by_seed in _noise_runs(args).items():
        for seed, run in by_seed.items():
            out = os.path.join(args.out, "noise", args.backend, variant, f"seed-{seed}")
            rows.setdefault(variant, {})[seed] = _evaluate(run, args.backend, out, args)
    exact, noisy = args.variants
    lines = [f"| variant | seeds | on {args.backend} (mean ± sd) | exact simulation of the same "
             "model | probe features |", "|---|---|---|---|---|"]
    result: dict[str, Any] = {"backend": args.backend, "images": args.images, "shots": args.shots,
                              "variants": {}}
    for variant in args.variants:
        device = [s["device_accuracy"] for s in rows[variant].values()]
        sim = [s["statevector_accuracy"] for s in rows[variant].values()]
        d, e = stats.describe(device), stats.describe(sim)
        result["variants"][variant] = {"device": device, "statevector": sim}
        lines.append(f"| {variant} | {len(device)} | {_pct(d['mean'])} ± {_pct(d['std'])} | "
                     f"{_pct(e['mean'])} ± {_pct(e['std'])} | "
                     f"{'under the noise' if variant == noisy else 'exact'} |")
    seeds = sorted(set(rows[exact]) & set(rows[noisy]))
    if len(seeds) < 2:
        lines += ["", "Fewer than 2 paired seeds: no interval."]
    else:
        paired = stats.paired([rows[noisy][s]["device_accuracy"] for s in seeds],
                              [rows[exact][s]["device_accuracy"] for s in seeds])
        result["paired_device"] = paired
        lines += ["", f"Paired, {noisy} − {exact} on {args.backend}: "
                  f"{100 * paired['difference']:+.2f} points [{100 * paired['ci_low']:+.2f}, "
                  f"{100 * paired['ci_high']:+.2f}], p = {paired['p']:.3f}, "
                  f"n = {paired['n']} seeds."]
    print("\n".join(lines))
    return result


def fig6(args: Any) -> dict[str, Any]:
    log = os.path.join(args.out, "device_runs.log")
    classical_json = os.path.join(args.out, "fig6", "classical.json")
    os.makedirs(os.path.dirname(classical_json), exist_ok=True)
    if not os.path.exists(classical_json):
        data = ["--data-dir", args.data_dir] if args.data_dir else []
        cli.run_module(["train.confusion", "--run", args.classical, "--images",
                        str(args.images), "--seed", str(args.seed),
                        "--out", classical_json.removesuffix(".json") + ".png", *data], log)
    classical = files.read_json(classical_json, "delete it and rerun to evaluate the "
                                "classical model again.")
    result: dict[str, Any] = {"images": args.images, "shots": args.shots,
                              "classical": classical, "quantum": {}}
    n_classical = classical["images"]
    k_classical = round(classical["accuracy"] * n_classical)
    lines = ["| backend | error options | quantum on the device [95 % Wilson] | − classical "
             "[95 % Newcombe] | its exact simulation | agrees with it | |⟨Z⟩ error| | "
             "two-qubit gates |", "|---|---|---|---|---|---|---|---|"]
    per_class = {"classical": stats.per_class_accuracy(classical["confusion_matrix"])}
    mitigated = (*MITIGATED, "--twirling") if args.twirling else MITIGATED
    # M3 alone as well as with DD: Aer adds idle noise only on a circuit's delays, and
    # only DD's scheduling puts delays in, so the DD arm also carries idle noise that the
    # plain arm does not (bench.idle_noise measures it); M3 alone compares like with like.
    arms = (("none", (), "plain"), ("M3", MITIGATED[:1], "m3"),
            ("M3 + XY4 + twirling" if args.twirling else "M3 + XY4", mitigated,
             "mitigated-twirled" if args.twirling else "mitigated"))
    for backend in args.backends:
        for label, extra, sub in arms:
            s = _evaluate(args.quantum, backend, os.path.join(args.out, "fig6", backend, sub),
                          args, extra)
            result["quantum"][f"{backend}/{sub}"] = s
            k = round(s["device_accuracy"] * s["images"])
            low, high = stats.newcombe(k, s["images"], k_classical, n_classical)
            difference = s["device_accuracy"] - classical["accuracy"]
            lines.append(f"| {backend} | {label} | {_accuracy(s['device_accuracy'], s['images'])} "
                         f"| {100 * difference:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}] | "
                         f"{_pct(s['statevector_accuracy'])} | "
                         f"{_pct(s['agreement_with_statevector'])} | "
                         f"{s['mean_abs_expectation_error']:.3f} | "
                         f"{s['gates']['level3']['two_qubit']:.1f} |")
            per_class[f"{backend}, {label}"] = stats.per_class_accuracy(s["confusion_matrix"])
    lines += ["", f"Classical model on the same {n_classical} images: "
              f"{_accuracy(classical['accuracy'], n_classical)}.", "",
              "Accuracy per class (%), rows: true class:", "",
              "| model | " + " | ".join(classical["class_names"]) + " |",
              "|---|" + "---|" * len(classical["class_names"])]
    lines += [f"| {name} | " + " | ".join(f"{100 * a:.1f}" for a in accuracies) + " |"
              for name, accuracies in per_class.items()]
    result["per_class"] = per_class
    print("\n".join(lines))
    return result


def _main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.device_runs",
                                description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="study", required=True)
    common = cli.ArgumentParser(add_help=False)
    common.add_argument("--images", type=cli.positive_int, default=900,
                        help="random test images each model is evaluated on (default 900, "
                             "as the paper)")
    common.add_argument("--shots", type=cli.positive_int, default=100,
                        help="shots per image on a device (default 100, as the paper)")
    common.add_argument("--seed", type=int, default=0, help="seed of the image sample")
    cli.add_data_dir(common, os.environ, "each run's")
    common.add_argument("--out", required=True, metavar="DIR",
                        help="results folder, one subfolder per evaluation (rerun to continue)")
    p = sub.add_parser("noise", parents=[common])
    p.add_argument("--exp", required=True, help="experiment folder holding runs/VARIANT/seed-N")
    p.add_argument("--variants", nargs=2, default=["quantum", "quantum_noise_fez"],
                   metavar=("EXACT", "NOISY"))
    p.add_argument("--seeds", type=cli.positive_int, default=5,
                   help="seeds 0..N-1 of both variants, paired (default 5)")
    p.add_argument("--backend", default="fake_fez", help="the device (default fake_fez)")
    p = sub.add_parser("fig6", parents=[common])
    p.add_argument("--quantum", required=True, help="a probed quantum run folder")
    p.add_argument("--classical", required=True, help="a probed classical run folder")
    p.add_argument("--backends", nargs="+", default=["fake_paris", "fake_fez", "fake_miami"],
                   help="the devices (default: fake_paris, the paper's; fake_fez, a Heron r2; "
                        "fake_miami, a Nighthawk)")
    p.add_argument("--twirling", action="store_true",
                   help="twirl the mitigated runs too (about 2.5x their simulation time)")
    args = parser.parse_args(argv)
    cli.check_out_folder(args.out)
    check(args)
    os.makedirs(args.out, exist_ok=True)
    result = noise(args) if args.study == "noise" else fig6(args)
    files.atomic_write_json(os.path.join(args.out, f"{args.study}.json"), result)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.device_runs", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
