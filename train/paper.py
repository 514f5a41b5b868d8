"""Every claim of the paper checked with statistics, from one command.

    python -m train.paper --out DIR [--seeds N] [--ledger docs/results/ledger]
                          [--executor ray ...] [--data-dir DIR]

Runs the figures' experiments (Fig. 4, 5, 10, 8, 7 and the wide sweep, at the seeds
each needs: 5, 10, 10, 5, 5 and 5; --seeds N sets them all), each model and seed once
however many figures show it (Fig. 5's W = 8 runs are also Figs. 7, 8 and 10's), and
probes only the last checkpoint, the one every figure's claim is about. Then it runs
Fig. 6's device evaluation (the best 100-shot quantum model on fake_paris, with and
without recompilation, against the best classical model on the same 900 test images),
writes DIR/<fig>.md and .png for each figure (Fig. 6's too), and DIR/claims.md: each
claim of the paper, ours beside it, and a verdict. DIR/paper_time.json says how long
each figure took. A rerun continues where it stopped; with --ledger, runs the ledger
holds are not computed again, and finished ones are kept there. A Fig. 6 model that
only the ledger holds (a fresh machine) is trained again for its checkpoint.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tfq_ssl import cli, files, probe_store, rundir
from train import claims, ledger, sweep
from train.reports import logs_folder, report
from train.specs import SPECS, check_identity, run_config, run_dir

# The figures in the order they run, with their seeds: cheap and shared runs first.
FIGURES = {"fig4": 5, "fig5": 10, "fig10": 10, "fig8": 5, "fig7": 5, "wide": 5}
ALL_FIGURES = (*FIGURES, "fig6")
LAST_ONLY = 10**6  # probe every 10**6-th checkpoint and the last: the last only


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.paper", description=description,
                                epilog=epilog)
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="experiment folder (rerun to continue)")
    parser.add_argument("--seeds", type=cli.positive_int, default=None,
                        help="seeds of every figure (default: " + ", ".join(
                            f"{k} {v}" for k, v in FIGURES.items()) + ")")
    parser.add_argument("--figures", nargs="+", choices=ALL_FIGURES, default=list(ALL_FIGURES),
                        metavar="FIG", help=f"only these ({', '.join(ALL_FIGURES)})")
    sweep.add_executor_options(parser)
    sweep.add_options(parser)
    sweep.add_keep_option(parser, default="last")  # a long sweep's disk: Fig. 6 needs the last
    parser.add_argument("--ledger", metavar="DIR",
                        help="a results ledger (docs/results/ledger in a checkout): runs it "
                             "holds are skipped, finished ones are copied there")
    parser.add_argument("--device-images", type=cli.positive_int, default=900,
                        help="Fig. 6: test images (default 900, as the paper)")
    parser.add_argument("--device-shots", type=cli.positive_int, default=100,
                        help="Fig. 6: shots per image (default 100, as the paper)")
    parser.add_argument("--report-only", action="store_true",
                        help="write the reports from what exists, run nothing")
    return parser


def jobs_of(figures: Sequence[str], seeds: int | None, args) -> dict[str, list[sweep.Job]]:
    """Each figure's jobs; a (variant, seed) that several figures share is one job, in
    the first figure that needs it. Every config is checked here, before anything runs."""
    seen: dict[str, sweep.Job] = {}
    out: dict[str, list[sweep.Job]] = {}
    for fig in figures:
        spec = SPECS[fig]
        check_identity(spec, args.overrides)
        out[fig] = []
        for s in range(seeds or FIGURES[fig]):
            for v in spec.variants:
                config = run_config(v, s, args.overrides)
                folder = os.path.abspath(run_dir(args.out, v, s))
                if folder in seen:
                    assert seen[folder].config == config, f"{v.name} differs between figures"
                    continue
                job = sweep.Job(f"{fig}: {v.name} seed {s}", config, folder, LAST_ONLY,
                                ledger.entry(args.ledger, v.name, s) if args.ledger else None,
                                args.keep)
                seen[folder] = job
                out[fig].append(job)
    return out


def _cost(jobs: Sequence[sweep.Job], probes: Sequence, ledger_root: str | None
          ) -> dict[str, float]:
    """How many of the jobs' runs have records (run folder or ledger entry), and the
    seconds they spent pretraining and probing by those records, however many
    invocations or machines computed them."""
    pretrain = probing = 0.0
    runs = 0
    for job in jobs:
        source = logs_folder(job.folder, ledger_root)
        if source is None:
            continue
        runs += 1
        pretrain += rundir.read_state(source).get("seconds", 0.0)
        for p in probes:
            for step in job.probe_steps:
                result = probe_store.read_probe_result(source, p, step)
                probing += result.get("seconds", 0.0) if result else 0.0
    return {"runs": runs, "pretrain_seconds": round(pretrain, 1),
            "probe_seconds": round(probing, 1)}


def _du(path: str) -> int:
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


@contextmanager
def _timed(timing: dict, name: str, path: str, out: str) -> Iterator[dict]:
    """``timing[name]``, to fill meanwhile; its wall time and the folder's peak disk are
    added and ``path`` written however the block ends: an interrupted invocation's time
    counts too."""
    entry = timing.setdefault(name, {"seconds": 0.0})
    start = time.perf_counter()
    try:
        yield entry
    finally:
        entry["seconds"] = round(entry["seconds"] + time.perf_counter() - start, 1)
        entry["peak_disk_bytes"] = max(entry.get("peak_disk_bytes", 0), _du(out))
        files.atomic_write_json(path, timing)


def _check_evaluations(folder: str, best: dict, images: int) -> None:
    """Raise before anything runs if an evaluation kept in ``folder`` is of another model
    or image count than Fig. 6 now needs: a rerun after more Fig. 5 seeds finished can
    choose other best runs, and the report must not pair one model's name with
    another's figures."""
    kept = [("classical.json", best["classical"][0])] + [
        (os.path.join(sub, "summary.json"), best["quantum_100_shots"][0])
        for sub in ("fake_paris", "fake_paris_recompiled")]
    for name, run in kept:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        made = files.read_json(path, "delete it and rerun train.paper.")
        if made.get("run", os.path.abspath(run)) != os.path.abspath(run) or made[
                "images"] != images:
            raise RuntimeError(
                f"{path} evaluated {made.get('run')} on {made['images']} images, but Fig. 6 "
                f"now evaluates {os.path.abspath(run)} on {images} (more Fig. 5 runs finished, "
                f"or --device-images changed); move {folder} aside and rerun.")


def device_figure(args, seeds: int) -> None:
    """Fig. 6: pick the best 100-shot quantum and best classical run, evaluate both on
    the same test images (the quantum one on fake_paris, with and without
    recompilation), and keep the summaries in DIR/fig6/. A chosen run whose checkpoint
    is not here (only the ledger holds it: a fresh machine) is trained again first."""
    folder = os.path.join(args.out, "fig6")
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "fig6.log")
    probes = sweep.probe_configs(args)
    variants = {"quantum_100_shots": SPECS["fig5"].variants[1],
                "classical": SPECS["fig5"].variants[2]}
    best = claims.best_runs(args.out, variants, range(seeds), probes[0], args.ledger)
    _check_evaluations(folder, best, args.device_images)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    common = ["--images", str(args.device_images), "--seed", "0", *data]
    chosen = {}
    for name, (run, seed, accuracy) in best.items():
        # A run whose checkpoint is not here (only the ledger holds it), or whose training
        # again was interrupted, is trained (or resumed) and probed; a finished one is
        # left as it is.
        job = sweep.Job(f"fig6: {name} seed {seed}",
                        run_config(variants[name], seed, args.overrides), run, LAST_ONLY,
                        None, args.keep)
        if sweep.execute([job], probes, args).failed or not rundir.list_checkpoints(run):
            raise RuntimeError(f"{run} has no checkpoint to evaluate (training it failed, or "
                               "--keep none dropped it); see its log.")
        chosen[name] = {"run": run, "seed": seed, "probe_accuracy": accuracy}
        # What the evaluated model itself probed. It differs from the ledger's figure
        # when the run was trained again on another CPU (floating point differs between
        # machines, so a seed's model does too): the report must say which was evaluated.
        own = probe_store.read_probe_result(run, probes[0], max(rundir.list_checkpoints(run)))
        if own is not None and own["final_test_accuracy"] != accuracy:
            chosen[name].update(probe_accuracy=own["final_test_accuracy"],
                                ledger_probe_accuracy=accuracy, trained_again=True)
    files.atomic_write_json(os.path.join(folder, "chosen.json"), chosen)
    classical = os.path.join(folder, "classical.png")
    if not os.path.exists(classical.removesuffix(".png") + ".json"):
        cli.run_module(["train.confusion", "--run", best["classical"][0], "--out", classical,
                        *common], log)
    for sub, extra in (("fake_paris", []), ("fake_paris_recompiled", ["--recompile"])):
        if not os.path.exists(os.path.join(folder, sub, "summary.json")):
            # Compilation is seeded: one compiling process per core gives the same
            # circuits sooner (1.6x on 2 cores for random weights; bench/README.md).
            cli.run_module(["convert.evaluate", "--run", best["quantum_100_shots"][0],
                            "--backend", "fake_paris", "--shots", str(args.device_shots),
                            "--workers", str(os.cpu_count() or 1),
                            "--out", os.path.join(folder, sub), *extra, *common], log)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    cli.check_out_folder(args.out)
    figures = [f for f in FIGURES if f in args.figures]
    sweep.check_executor(args)
    jobs = jobs_of(figures, args.seeds, args)  # every config checked before anything runs
    sweep.check_ledger([j for fig_jobs in jobs.values() for j in fig_jobs])
    probe = sweep.probe_configs(args)
    os.makedirs(args.out, exist_ok=True)
    timing_path = os.path.join(args.out, "paper_time.json")
    timing = files.read_json(timing_path, "delete it; it is only a record.") if os.path.exists(
        timing_path) else {}
    failed: list[str] = []
    seeds_max = args.seeds or max(FIGURES.values())
    with files.locked(args.out):
        for fig in figures:
            if not args.report_only and jobs[fig]:
                with _timed(timing, fig, timing_path, args.out) as entry:
                    outcome = sweep.execute(jobs[fig], probe, args)
                    entry.update(_cost(jobs[fig], probe, args.ledger))
                failed += outcome.failed
            report(fig, args.out, range(seeds_max), args.protocol, args.probe_epochs,
                   [p.head for p in probe], args.ledger, args.overrides)
        if "fig6" in args.figures and not args.report_only:
            if any(f.startswith("fig5:") for f in failed):
                # Fig. 6 evaluates Fig. 5's best runs: not before every one has finished.
                failed.append("fig6 (not run: Fig. 5 has failed runs)")
            else:
                with _timed(timing, "fig6", timing_path, args.out):
                    try:
                        device_figure(args, args.seeds or FIGURES["fig5"])
                    except (RuntimeError, OSError, ValueError) as err:
                        failed.append(f"fig6 ({cli.one_line(err)})")
        if "fig6" in args.figures:
            claims.fig6_report(args.out)
        table = claims.write(args.out, range(seeds_max), timing, args.ledger)
    print(table)
    print(f"written: {os.path.abspath(args.out)}/claims.md and each figure's .md and .png")
    if failed:
        print(f"train.paper: {len(failed)} failed: {', '.join(failed)}; see their logs, then "
              "rerun to continue.", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.paper", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
