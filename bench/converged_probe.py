"""Does the Adam probe underfit? ``python -m bench.converged_probe --run RUN_DIR [RUN_DIR ...]``

For each run's checkpoint (latest by default) fits a multinomial logistic regression
to convergence (L-BFGS on features standardised with the training split's mean and
std, L2 1e-6) and prints its test accuracy beside the stored Adam probe result
(``train.probe``'s cached protocol), with the spread of the features. A converged fit
far above the Adam probe points to feature scale (a tiny spread slows Adam's head);
both low points to a worse representation. Nothing is written to the run folders.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

from models.run import FEATURE_ENGINE, Run
from tfq_ssl import cli
from tfq_ssl import probe_store
from tfq_ssl.config import ProbeConfig


def converged_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                       test_y: np.ndarray, classes: int, l2: float = 1e-6) -> tuple[float, bool]:
    """Test accuracy of an L-BFGS-converged softmax regression on standardised features
    (the library's ``lbfgs`` probe head, :mod:`models.probe_heads`)."""
    from models.probe_heads import fit_lbfgs, standardizer  # noqa: PLC0415

    mean, std = standardizer(train_x)
    kernel, bias, converged = fit_lbfgs((train_x - mean) / std, train_y, classes, l2)
    return float(np.mean((((test_x - mean) / std) @ kernel + bias).argmax(1) == test_y)), converged


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m bench.converged_probe",
                                description=description, epilog=epilog)
    parser.add_argument("--run", required=True, nargs="+", metavar="RUN_DIR",
                        help="pretrained run folders (same data settings)")
    parser.add_argument("--checkpoint", default="latest", help="a step, or latest (default)")
    cli.add_data_dir(parser, os.environ, "the run's")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    chosen = []  # every run checked before TensorFlow loads
    for path in args.run:
        chosen.append((Run(path), cli.one_checkpoint(path, args.checkpoint)))
    cli.load_tensorflow()
    from models.linear_probe import features, split_arrays  # noqa: PLC0415

    splits = None
    for opened, step in chosen:
        run = opened.path
        encoder = opened.encoder(step, FEATURE_ENGINE)
        if splits is None:
            splits = [split_arrays(d) for d in opened.splits(args.data_dir)]
        (tr_images, tr_y), (te_images, te_y) = splits
        xtr = features(encoder, tr_images).astype(np.float64)
        xte = features(encoder, te_images).astype(np.float64)
        acc, ok = converged_accuracy(xtr, tr_y, xte, te_y, int(tr_y.max()) + 1)
        stored = probe_store.read_probe_result(run, ProbeConfig(), step)
        adam = ("not probed" if stored is None else
                f"{100 * stored['final_test_accuracy']:.2f}% final, "
                f"{100 * stored['best_test_accuracy']:.2f}% best")
        sd = xtr.std(0)
        print(f"{run} step {step}: feature std min/median/max {sd.min():.4f}/"
              f"{np.median(sd):.4f}/{sd.max():.4f}; converged {100 * acc:.2f}%"
              f"{'' if ok else ' (L-BFGS stopped before converging)'}; Adam probe {adam}",
              flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.converged_probe", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
