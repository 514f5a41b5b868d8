"""Linear-probe speed on a pretrained run: ``python -m bench.probe --run RUN_DIR``.

Prints, for one checkpoint of the run on its CIFAR-10 classes, the seconds of a whole
cached-protocol probe (features once, then the head for --cached-epochs epochs) and
the seconds per epoch of the paper protocol (augmented training images through the
frozen encoder every epoch, test accuracy every epoch), measured over
--paper-epochs epochs. Both run in the same process on the same data: the
baseline for issue 12's targets (cached ≤ 15 s per checkpoint, paper ≤ 20 s per
epoch). Nothing is written to the run folder.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from tfq_ssl import cli, rundir
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
    parser.add_argument("--data-dir", metavar="DIR", help="TFDS data directory (default: the run's)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = rundir.read_config(args.run)
    [step] = rundir.select_checkpoints(args.run, args.checkpoint)

    import tf_keras  # noqa: PLC0415 - TensorFlow loads only now

    from models.probe import class_names, load_encoder, train_probe  # noqa: PLC0415
    from tfq_ssl.data import load_cifar10  # noqa: PLC0415

    class EpochTimer(tf_keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    kwargs = dict(data_dir=args.data_dir or config.data.data_dir, download=config.data.download,
                  classes=config.data.classes, remap_labels=config.data.remap_labels)
    data = (load_cifar10("train", **kwargs), load_cifar10("test", **kwargs))
    names = class_names(config)
    _, encoder = load_encoder(args.run, step)

    start = time.perf_counter()
    cached, _ = train_probe(encoder, *data, names, ProbeConfig(epochs=args.cached_epochs))
    cached_seconds = time.perf_counter() - start

    timer = EpochTimer()
    start = time.perf_counter()
    paper, _ = train_probe(encoder, *data, names,
                           ProbeConfig(protocol="paper", epochs=args.paper_epochs),
                           callbacks=[timer])
    paper_total = time.perf_counter() - start
    print(f"run {args.run}, step {step}, {config.model.representation} W={config.model.width}")
    print(f"cached protocol: {cached_seconds:.1f} s per checkpoint ({args.cached_epochs} epochs; "
          f"final accuracy {100 * cached['final_test_accuracy']:.2f}%)")
    per_epoch = ", ".join(f"{s:.1f}" for s in timer.seconds)
    print(f"paper protocol: {sum(timer.seconds) / len(timer.seconds):.1f} s per epoch "
          f"(epochs: {per_epoch} s; {paper_total:.1f} s in all for {args.paper_epochs} epochs; "
          f"accuracy after them {100 * paper['final_test_accuracy']:.2f}%)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.probe", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
