"""``make demo``: a short real SimCLR pretraining on CIFAR-10, then the linear probe.

Pretrains the paper's 5-class quantum model (W=8 qubits, 2 ring layers, TFQ adjoint)
for a few dozen batches, probes its checkpoints with the cached protocol, draws the
confusion matrix of the last one and prints where everything went. CIFAR-10 comes
through TFDS (``--data-dir`` or ``$TFDS_DATA_DIR``; downloaded when missing and online).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from train import confusion, pretrain, probe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--preset", default="paper_5class_quantum")
    parser.add_argument("--steps", type=int, default=39, help="pretraining batches")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    start = time.perf_counter()
    print(f"[demo] pretraining {args.preset} for {args.steps} batches -> {args.out}", flush=True)
    pretrain.main(["--preset", args.preset, "--out", args.out, "--set", f"train.steps={args.steps}", *data])
    print("[demo] linear probe (cached protocol) of every checkpoint", flush=True)
    probe.main(["--run", args.out, "--checkpoints", "all", *data])
    confusion.main(["--run", args.out, "--images", "900", *data])
    print(f"[demo] finished in {time.perf_counter() - start:.0f}s. Results in {os.path.abspath(args.out)}:")
    print("  config.json, metrics.csv (loss per batch), hilbert_schmidt.csv, checkpoints/,")
    print("  probe/cached/step-*.json (final and best-epoch accuracy), confusion-*.png, tensorboard/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
