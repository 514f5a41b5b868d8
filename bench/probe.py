"""Linear-probe speed on a pretrained run: ``python -m bench.probe --run RUN_DIR``.

Prints, for one checkpoint of the run on its CIFAR-10 classes, the seconds of a whole
cached-protocol probe (features once, then the head for --cached-epochs epochs) and
the seconds per epoch of the paper protocol (augmented training images through the
frozen encoder every epoch, test accuracy every epoch), measured over
--paper-epochs epochs, for the probe as ``train.probe`` runs it (compiled feature
pass on the feature engine, compiled head loop). With --keras it measures the same in
the same process with the library path the probe had before (``Model.fit``, the
run's own engine), and prints the ratios. Timings include decoding the split (the
compiled path decodes it once and reuses it, as ``train.probe`` does for all
checkpoints of a run). Nothing is written to the run folder.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from models.run import FEATURE_ENGINE, OWN_ENGINE, Run, feature_engine
from tfq_ssl import cli
from tfq_ssl.config import ProbeConfig


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m bench.probe", description=description,
                                epilog=epilog)
    parser.add_argument("--run", required=True, metavar="RUN_DIR", help="a pretrained run folder")
    parser.add_argument("--checkpoint", default="latest", help="a step, or latest (default)")
    parser.add_argument("--cached-epochs", type=cli.positive_int, default=ProbeConfig.epochs,
                        help=f"epochs of the cached probe (default {ProbeConfig.epochs})")
    parser.add_argument("--paper-epochs", type=cli.positive_int, default=2,
                        help="paper-protocol epochs to time (default 2)")
    parser.add_argument("--keras", action="store_true",
                        help="also measure the Model.fit path on the run's own engine (the "
                             "probe before issue 12) and print the ratios")
    cli.add_data_dir(parser, os.environ, "the run's")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    run = Run(args.run)
    config = run.config
    step = cli.one_checkpoint(args.run, args.checkpoint)

    cli.load_tensorflow()
    import tf_keras  # noqa: PLC0415 - TensorFlow loads only now

    from bench.machine import describe  # noqa: PLC0415
    from bench.keras_probe import keras_probe  # noqa: PLC0415
    from models.linear_probe import split_arrays, train_probe  # noqa: PLC0415

    class EpochTimer(tf_keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    data = run.splits(args.data_dir)
    names = run.class_names
    print(describe())
    print(f"run {args.run}, step {step}, {config.model.representation} W={config.model.width}, "
          f"run engine {config.model.engine}, feature engine {feature_engine(config.model)}")

    def measure(loop: str) -> tuple[float, float]:
        encoder = run.encoder(step, FEATURE_ENGINE if loop == "compiled" else OWN_ENGINE)
        probe = train_probe if loop == "compiled" else keras_probe
        start = time.perf_counter()
        splits = tuple(split_arrays(d) for d in data) if loop == "compiled" else data
        cached, _ = probe(encoder, *splits, names, ProbeConfig(epochs=args.cached_epochs))
        cached_seconds = time.perf_counter() - start
        timer = EpochTimer()
        start = time.perf_counter()
        paper, _ = probe(encoder, *splits, names,
                         ProbeConfig(protocol="paper", epochs=args.paper_epochs),
                         callbacks=[timer])
        paper_total = time.perf_counter() - start
        per_epoch = sum(timer.seconds) / len(timer.seconds)
        print(f"[{loop}] cached protocol: {cached_seconds:.1f} s per checkpoint "
              f"({args.cached_epochs} epochs; final accuracy "
              f"{100 * cached['final_test_accuracy']:.2f}%)")
        print(f"[{loop}] paper protocol: {per_epoch:.1f} s per epoch (epochs: "
              f"{', '.join(f'{s:.1f}' for s in timer.seconds)} s; {paper_total:.1f} s in all for "
              f"{args.paper_epochs} epochs; accuracy after them "
              f"{100 * paper['final_test_accuracy']:.2f}%)", flush=True)
        return cached_seconds, per_epoch

    new = measure("compiled")
    if args.keras:
        old = measure("keras")
        print(f"ratio keras/compiled: cached {old[0] / new[0]:.2f}x, paper {old[1] / new[1]:.2f}x")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.probe", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
