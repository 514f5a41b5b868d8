"""Confusion matrix of a probed checkpoint on random test images (paper Fig. 6).

    python -m train.confusion --run RUN_DIR [--checkpoint STEP|latest] [--images 900]

The probe head trained by train.probe classifies the frozen encoder's
representations of --images random test images (seeded); the matrix is drawn to
RUN_DIR/probe/<protocol>/confusion-STEP.png with its counts beside it as .json.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from models.run import Run
from tfq_ssl import cli, files
from tfq_ssl.config import PROTOCOLS


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.confusion", description=description,
                                epilog=epilog)
    parser.add_argument("--run", required=True, metavar="RUN_DIR", help="a probed run folder")
    parser.add_argument("--checkpoint", default="latest", help="a step, or latest (default)")
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS,
                        help="which probe's head classifies (default cached)")
    parser.add_argument("--images", type=cli.positive_int, default=900,
                        help="random test images (default 900, as the paper)")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="seed of the image sample")
    cli.add_data_dir(parser, os.environ, "the run's")
    parser.add_argument("--out", metavar="PNG",
                        help="PNG path (default RUN/probe/PROTOCOL/confusion-STEP.png)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    run = Run(args.run)
    step = cli.one_checkpoint(args.run, args.checkpoint)
    head = run.probe_head(args.protocol, step)
    folder = os.path.dirname(head.path)

    cli.load_tensorflow()
    from models.probe_heads import confusion_matrix  # noqa: PLC0415
    from tfq_ssl import plots  # noqa: PLC0415
    from tfq_ssl.data import normalize  # noqa: PLC0415

    with files.locked(args.run):
        encoder = run.encoder(step)
        images, labels = run.test_sample(args.images, args.seed, args.data_dir)
        y = encoder.predict(normalize(images), batch_size=256, verbose=0)
        predictions = head.predict(y)
        names = run.class_names
        matrix = confusion_matrix(labels, predictions, len(names))
        accuracy = float((predictions == labels).mean())
        out = args.out or os.path.join(folder, f"confusion-{step:05d}.png")
        plots.plot_confusion_matrix(matrix, names, out,
                                    f"step {step}, {args.images} test images: {100 * accuracy:.1f}%")
        files.atomic_write_json(out.removesuffix(".png") + ".json", {
            "run": os.path.abspath(args.run), "step": step, "images": args.images,
            "seed": args.seed, "accuracy": accuracy,
            "class_names": names, "confusion_matrix": matrix.tolist(),
            # per image, so that a device run on the same images compares paired
            "labels": [int(v) for v in labels], "predictions": [int(v) for v in predictions]})
    print(f"accuracy {100 * accuracy:.2f}% on {args.images} test images; wrote {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.confusion", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
