"""Confusion matrix of a probed checkpoint (paper Fig. 6):
``python -m train.confusion --run RUN_DIR [--checkpoint STEP] --images 900``."""

from __future__ import annotations

import argparse
import json
import os
import sys

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import numpy as np

from tfq_ssl.data import CIFAR10_CLASSES, normalize, resolve_classes
from train import plots
from train.probe import (PROTOCOLS, confusion_matrix, load_encoder, load_probe_head,
                         sample_test_images, select_checkpoints)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--checkpoint", default="latest", help="a step, or latest")
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS,
                        help="which probe's head to use")
    parser.add_argument("--images", type=int, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", help="PNG path (default RUN/probe/PROTOCOL/confusion-STEP.png)")
    args = parser.parse_args(argv)
    try:
        [step] = select_checkpoints(args.run, args.checkpoint)
        kernel, bias = load_probe_head(args.run, args.protocol, step)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    config, encoder = load_encoder(args.run, step)
    images, labels = sample_test_images(config, args.images, args.seed, args.data_dir)
    y = encoder.predict(normalize(images), batch_size=256, verbose=0)
    predictions = (y @ kernel + bias).argmax(axis=1)
    names = [CIFAR10_CLASSES[i] for i in resolve_classes(config.data.classes)]
    matrix = confusion_matrix(labels, predictions, len(names))
    accuracy = float(np.mean(predictions == labels))
    out = args.out or os.path.join(args.run, "probe", args.protocol, f"confusion-{step:05d}.png")
    plots.plot_confusion_matrix(matrix, names, out,
                                f"step {step}, {args.images} test images: {100 * accuracy:.1f}%")
    with open(out.replace(".png", ".json"), "w") as f:
        json.dump({"step": step, "images": args.images, "seed": args.seed, "accuracy": accuracy,
                   "class_names": names, "confusion_matrix": matrix.tolist()}, f, indent=1)
    print(f"accuracy {100 * accuracy:.2f}% on {args.images} test images; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
