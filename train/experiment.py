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

import os
import sys
from typing import Sequence

from tfq_ssl import cli, files
from tfq_ssl import config as config_lib
from train import ledger, sweep
from train.reports import report
from train.specs import SPECS, check_identity, run_config, run_dir


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
    sweep.add_executor_options(parser)
    sweep.add_options(parser)
    sweep.add_keep_option(parser)
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
    cli.check_out_folder(args.out)
    spec = SPECS[args.spec]
    seeds = list(range(args.seeds))
    names = [v.name for v in spec.variants]
    unknown = sorted(set(args.variants or []) - set(names))
    if unknown:
        raise config_lib.ConfigError(
            f"--variants {unknown} are not in {args.spec}; choose from {names}.")
    check_identity(spec, args.overrides)
    sweep.check_executor(args)
    jobs = [sweep.Job(f"{v.name} seed {s}", run_config(v, s, args.overrides),
                      os.path.abspath(run_dir(args.out, v, s)), args.probe_every,
                      ledger.entry(args.ledger, v.name, s) if args.ledger else None,
                      args.keep)
            for s in seeds for v in spec.variants
            if not args.variants or v.name in args.variants]  # every config checked first
    sweep.check_ledger(jobs)
    probe = sweep.probe_configs(args)
    outcome = None
    with files.locked(args.out):
        if not args.report_only:
            outcome = sweep.execute(jobs, probe, args)
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
