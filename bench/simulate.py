"""Speed of :class:`tfq_ssl.quantum.statevector.StatevectorAutodiff` against TFQ's Expectation.

Measures, in one process and on the same inputs, the time of ⟨Z_k⟩ on every qubit of
the representation circuit (RX data loading + ansatz, paper Fig. 2) for a batch:

* forward: the (B, W) expectations;
* forward+backward: the gradient of their sum with respect to the input angles and
  the weights (what a training step needs).

Both run inside ``tf.function``; the reference is ``tfq.layers.Expectation`` with the
``Adjoint`` differentiator (exact, TFQ's fastest analytic one). Each figure is the
median of ``--repeats`` timed calls after ``--warmup`` untimed ones.

Usage:
    python -m bench.simulate --width 8 --batch 512
    python -m bench.simulate --width 16 --batch 512 --repeats 3 --skip-tfq
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence

from tfq_ssl import cli  # (importing tfq_ssl sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfq_ssl.quantum.options import ANSATZE

# TensorFlow, TFQ and Cirq load inside the functions that time circuits, so --help
# and bad options answer at once.


def _median_ms(fn, args, warmup: int, repeats: int) -> float:
    import tensorflow as tf  # noqa: PLC0415

    for _ in range(warmup):
        tf.nest.map_structure(lambda t: t.numpy(), fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), fn(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _forward_backward(expectation):
    import tensorflow as tf  # noqa: PLC0415

    def run(inputs, weights):
        with tf.GradientTape() as tape:
            tape.watch([inputs, weights])
            total = tf.reduce_sum(expectation(inputs, weights))
        return tape.gradient(total, [inputs, weights])

    return run


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m bench.simulate", description=description,
                                epilog=epilog)
    parser.add_argument("--width", type=cli.positive_int, default=8)
    parser.add_argument("--layers", type=cli.positive_int, default=2)
    parser.add_argument("--ansatz", default="ring", choices=ANSATZE)
    parser.add_argument("--batch", type=cli.positive_int, default=512)
    parser.add_argument("--block-qubits", type=cli.int_at_least(2), default=None,
                        help="largest fused block (default: the simulator's)")
    parser.add_argument("--warmup", type=cli.non_negative_int, default=2)
    parser.add_argument("--repeats", type=cli.positive_int, default=7)
    parser.add_argument("--jit", action="store_true", help="also time with XLA (jit_compile)")
    parser.add_argument("--skip-tfq", action="store_true", help="time only the simulator")
    parser.add_argument("--device", default=None, help="e.g. /GPU:0 or /CPU:0")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    cli.load_tensorflow()
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    import tensorflow_quantum as tfq  # noqa: PLC0415

    from tfq_ssl.quantum import circuits  # noqa: PLC0415
    from tfq_ssl.quantum.statevector import StatevectorAutodiff  # noqa: PLC0415

    circuit, qubits, input_symbols, weight_symbols = circuits.representation_circuit(
        args.width, args.layers, args.ansatz
    )
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.uniform(0, np.pi, (args.batch, args.width)), tf.float32)
    weights = tf.constant(rng.uniform(-np.pi, np.pi, len(weight_symbols)), tf.float32)

    sim = StatevectorAutodiff(
        circuit, qubits, input_symbols, weight_symbols, block_qubits=args.block_qubits
    )
    print(
        f"W={args.width} L={args.layers} ansatz={args.ansatz} batch={args.batch} "
        f"block_qubits={sim.block_qubits} fused blocks={sim.num_blocks} "
        f"device={args.device or 'default'} gpus={len(tf.config.list_physical_devices('GPU'))}"
    )
    rows = []
    with tf.device(args.device) if args.device else _nullcontext():
        variants = [("simulator", False)] + ([("simulator+xla", True)] if args.jit else [])
        for name, jit in variants:
            fwd = tf.function(sim.expectation_z, jit_compile=jit)
            fwdbwd = tf.function(_forward_backward(sim.expectation_z), jit_compile=jit)
            rows.append(
                (
                    name,
                    _median_ms(fwd, (inputs, weights), args.warmup, args.repeats),
                    _median_ms(fwdbwd, (inputs, weights), args.warmup, args.repeats),
                )
            )
        if not args.skip_tfq:
            layer = tfq.layers.Expectation(differentiator=tfq.differentiators.Adjoint())
            programs = tfq.convert_to_tensor([circuit] * args.batch)
            names = [str(s) for s in input_symbols + weight_symbols]
            operators = circuits.readout_operators(qubits)

            def tfq_expectation(x, w):
                values = tf.concat([x, tf.tile(w[None, :], [tf.shape(x)[0], 1])], axis=1)
                return layer(
                    programs, symbol_names=names, symbol_values=values, operators=operators
                )

            reference = tfq_expectation(inputs, weights)
            ours = sim.expectation_z(inputs, weights)
            print(f"max |simulator - TFQ| = {float(tf.reduce_max(tf.abs(ours - reference))):.2e}")
            rows.append(
                (
                    "tfq adjoint",
                    _median_ms(tf.function(tfq_expectation), (inputs, weights),
                               args.warmup, args.repeats),
                    _median_ms(tf.function(_forward_backward(tfq_expectation)),
                               (inputs, weights), args.warmup, args.repeats),
                )
            )
    print(f"{'':16s}{'forward ms':>12s}{'fwd+bwd ms':>12s}")
    for name, forward, both in rows:
        print(f"{name:16s}{forward:12.1f}{both:12.1f}")
    if not args.skip_tfq:
        base = rows[-1]
        for name, forward, both in rows[:-1]:
            print(
                f"speed-up of {name} over tfq adjoint: forward {base[1] / forward:.1f}x, "
                f"fwd+bwd {base[2] / both:.1f}x"
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.simulate", _main, argv)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
