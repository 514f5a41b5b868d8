"""Seconds per SimCLR training step: ``python -m bench.step [--batch 256]``.

One full step (two views of ``--batch`` images through ResNet-18 → representation
network → projection head, NT-Xent, Adam update) for the quantum network in each mode
and for the classical network, all at the paper's settings (W=8, L=2), measured in
the same run on the same random images. Prints each mode's ratio to the classical step.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time

import tfq_ssl  # noqa: F401
import tensorflow as tf
import tf_keras

from models.simclr import build_simclr
from tfq_ssl import cli
from bench.machine import describe
from tfq_ssl.config import ModelConfig

MODES = {
    "classical": dict(representation="classical"),
    "quantum_adjoint": dict(differentiator="adjoint"),
    "quantum_statevector": dict(engine="statevector"),
    "quantum_tensornet": dict(engine="tensornet"),
    "quantum_parameter_shift": dict(differentiator="parameter_shift"),
    "quantum_shots100": dict(differentiator="parameter_shift", shots=100),
    "quantum_statevector_shots100": dict(engine="statevector", differentiator="parameter_shift",
                                         shots=100),
}


def step_seconds(config: ModelConfig, batch: int, repeats: int) -> float:
    """Median wall time of one compiled training step."""
    tf_keras.utils.set_random_seed(0)
    model = build_simclr(config)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3, weight_decay=1e-6))
    views = tf.random.normal((batch, 32, 32, 3)), tf.random.normal((batch, 32, 32, 3))
    data = iter(tf.data.Dataset.from_tensors((views, tf.zeros(batch, tf.int32))).repeat())
    train = model.make_train_function()
    train(data)  # trace + warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        logs = train(data)
        float(logs["loss"])  # wait for the result
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.step", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=cli.positive_int, default=256,
                        help="images (2x views) per step")
    parser.add_argument("--width", type=cli.positive_int, default=8)
    parser.add_argument("--layers", type=cli.positive_int, default=2)
    parser.add_argument("--repeats", type=cli.positive_int, default=5)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    base = ModelConfig(width=args.width, layers=args.layers)
    results = {}
    for mode in args.modes:
        repeats = 2 if mode in ("quantum_parameter_shift", "quantum_shots100") else args.repeats
        results[mode] = step_seconds(dataclasses.replace(base, **MODES[mode]), args.batch, repeats)
        print(f"  measured {mode}: {results[mode]:.3f} s", flush=True)
    reference = results.get("classical")
    print(f"SimCLR step, batch {args.batch} images ({2 * args.batch} views), W={args.width}, "
          f"L={args.layers}, ResNet-18 ImageNet stem; same run")
    print(f"{'mode':<26} {'s/step':>8} {'x classical':>12}")
    for mode, seconds in results.items():
        ratio = f"{seconds / reference:.2f}" if reference else "-"
        print(f"{mode:<26} {seconds:>8.3f} {ratio:>12}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run("bench.step", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
