"""Linear probe of a pretrained run's checkpoints.

    python -m train.probe --run RUN_DIR [--checkpoints all|latest|13,26] [--protocol cached|paper]

For each chosen checkpoint the encoder is frozen and a Dense(num_classes) head is
trained on the train split of the run's classes and evaluated on their test split
every epoch. Results land in RUN_DIR/probe/<protocol>/step-NNNNN.json (the head's
weights beside them as .head.npz); settings other than the paper's schedule get a
folder of their own (RUN_DIR/probe/<protocol>-<digest>/), so a stored result is
only reused for the settings that made it. Progress (checkpoint, epoch) goes to
stderr. Both the final-epoch and the best-epoch test accuracy are reported: the
paper reports the best epoch, which selects on the test set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from models.run import Run
from tfq_ssl import cli
from tfq_ssl import probe_store
from tfq_ssl.config import HEADS, PROTOCOLS, ProbeConfig, check_probe


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.probe", description=description,
                                epilog=epilog)
    parser.add_argument("--run", required=True, metavar="RUN_DIR", help="pretraining run folder")
    parser.add_argument("--checkpoints", default="all",
                        help="all (default), latest, or steps like 13,26")
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS,
                        help="cached: features computed once, no augmentation (default); "
                             "paper: augmented images, features recomputed every epoch")
    parser.add_argument("--epochs", type=cli.positive_int, default=ProbeConfig.epochs,
                        help=f"head training epochs (default {ProbeConfig.epochs})")
    parser.add_argument("--batch-size", type=cli.positive_int, default=ProbeConfig.batch_size,
                        help=f"images per batch (default {ProbeConfig.batch_size})")
    parser.add_argument("--seed", type=cli.non_negative_int, default=ProbeConfig.seed,
                        help="seed of the head's initialisation and batch order (default "
                             f"{ProbeConfig.seed}; other seeds get a results folder of their own)")
    parser.add_argument("--head", dest="heads", nargs="+", default=["adam"], choices=HEADS,
                        help="one or more of: adam: the paper's Adam head on raw features "
                             "(default); "
                             "standardized: the same head on features scaled by the train "
                             "split's mean and std; lbfgs: logistic regression fitted to "
                             "convergence on standardised features (the last two: cached "
                             "protocol; each head stores its results under its own key)")
    cli.add_data_dir(parser, os.environ, "the run's")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    probes = [ProbeConfig(protocol=args.protocol, epochs=args.epochs, batch_size=args.batch_size,
                          seed=args.seed, head=head) for head in dict.fromkeys(args.heads)]
    for probe in probes:
        check_probe(probe)
    run = Run(args.run)
    steps = list(dict.fromkeys(run.select(args.checkpoints)))
    cli.load_tensorflow()
    for probe, results in run.probe(steps, probes, args.data_dir):
        for r in results:
            print(f"step {r['step']:5d} [{r['protocol']}, {probe.head} head] final "
                  f"{100 * r['final_test_accuracy']:.2f}% best {100 * r['best_test_accuracy']:.2f}% "
                  f"(epoch {r['best_epoch']}, selected on the test set) {r['seconds']:.0f}s")
        print(f"results: {os.path.abspath(probe_store.probe_dir(args.run, probe))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.probe", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
