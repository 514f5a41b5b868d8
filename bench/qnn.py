"""Speed of the quantum representation layer: ``python -m bench.qnn --width 8 --batch 512``.

Prints forward and forward+backward (gradients to inputs and weights) milliseconds
for each mode of ``QuantumRepresentation`` and, measured in the same run, the raw
``tfq.layers.ControlledPQC`` with TFQ's Adjoint differentiator, plus each mode's
ratio to that raw op. Medians over ``--repeats`` after warm-up, in ``tf.function``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable

from bench.machine import describe
from tfq_ssl import cli
from tfq_ssl.errors import ConfigError
from tfq_ssl.quantum.options import ANSATZE, check_options

if TYPE_CHECKING:
    import tensorflow as tf

# TensorFlow, TFQ and Cirq load inside the functions that time circuits, so --help
# and bad options answer at once.

MODES = {
    "adjoint": dict(differentiator="adjoint"),
    "parameter_shift": dict(differentiator="parameter_shift"),
    "shots100": dict(differentiator="parameter_shift", shots=100),
    "statevector": dict(engine="statevector"),
    "statevector_shots100": dict(engine="statevector", differentiator="parameter_shift", shots=100),
    "tensornet": dict(engine="tensornet"),
}
_DEFAULTS = dict(differentiator="adjoint", shots=None, engine="tfq", noise=0.0)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up / tracing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _timers(forward: Callable[[tf.Tensor], tf.Tensor], variables: list[tf.Variable], x: tf.Tensor):
    import tensorflow as tf  # noqa: PLC0415

    @tf.function
    def fwd():
        return forward(x)

    @tf.function
    def fwd_bwd():
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(forward(x))
        return tape.gradient(out, [x, *variables])

    return fwd, fwd_bwd


def raw_controlled_pqc(width: int, layers: int, ansatz: str):
    """TFQ's own ControlledPQC (adjoint): angles from outside, as in the layer."""
    import cirq  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    import tensorflow_quantum as tfq  # noqa: PLC0415

    from tfq_ssl.quantum import circuits  # noqa: PLC0415

    circuit, qubits, inputs, weights = circuits.representation_circuit(width, layers, ansatz)
    pqc = tfq.layers.ControlledPQC(
        circuit, circuits.readout_operators(qubits), differentiator=tfq.differentiators.Adjoint()
    )
    # ControlledPQC orders symbol values by sorted name ("theta_*" before "x_*"):
    # map by name, never by position.
    names = [str(s) for s in inputs + weights]
    order = tf.constant([names.index(n) for n in sorted(names)])
    w = tf.Variable(tf.random.normal((len(weights),)))
    program = tfq.convert_to_tensor([cirq.Circuit()])

    def forward(x):
        batch = tf.shape(x)[0]
        values = tf.concat([x, tf.tile(w[tf.newaxis], [batch, 1])], axis=1)
        return pqc([tf.tile(program, [batch]), tf.gather(values, order, axis=1)])

    return forward, [w]


def raw_biased_parameter_shift(width: int, layers: int, ansatz: str):
    """TFQ's own ParameterShift on the undecomposed circuit: what the paper's code did
    (biased for CRX); the reference for the exact parameter shift's cost."""
    import tensorflow as tf  # noqa: PLC0415
    import tensorflow_quantum as tfq  # noqa: PLC0415

    from tfq_ssl.quantum import circuits  # noqa: PLC0415

    circuit, qubits, inputs, weights = circuits.representation_circuit(width, layers, ansatz)
    op = tfq.differentiators.ParameterShift().generate_differentiable_op(
        analytic_op=tfq.get_expectation_op())
    program = tfq.convert_to_tensor([circuit])
    names = tf.constant([str(s) for s in inputs + weights])
    readout = tfq.convert_to_tensor([circuits.readout_operators(qubits)])
    w = tf.Variable(tf.random.normal((len(weights),)))

    def forward(x):
        batch = tf.shape(x)[0]
        values = tf.concat([x, tf.tile(w[tf.newaxis], [batch, 1])], axis=1)
        return op(tf.tile(program, [batch]), names, values, tf.tile(readout, [batch, 1]))

    return forward, [w]


def run(widths: list[int], batch: int, layers: int, ansatz: str, modes: list[str], repeats: int,
        baseline_max_width: int = 16) -> list[dict]:
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from tfq_ssl.quantum.layer import QuantumRepresentation  # noqa: PLC0415

    rows = []
    for width in widths:
        x = tf.random.uniform((batch, width), 0, np.pi)
        base_fb = float("nan")  # TFQ's 2**W simulation is skipped above baseline_max_width
        if width <= baseline_max_width:
            forward, variables = raw_controlled_pqc(width, layers, ansatz)
            base_f, base_fb = (_median_ms(t, repeats) for t in _timers(forward, variables, x))
            rows.append(dict(width=width, mode="raw ControlledPQC (adjoint)", fwd=base_f,
                             fwd_bwd=base_fb, ratio=1.0))
        if "parameter_shift" in modes and width <= baseline_max_width:
            forward, variables = raw_biased_parameter_shift(width, layers, ansatz)
            f, fb = (_median_ms(t, max(1, repeats // 4)) for t in _timers(forward, variables, x))
            rows.append(dict(width=width, mode="raw TFQ ParameterShift (biased)", fwd=f, fwd_bwd=fb, ratio=fb / base_fb))
        for mode in modes:
            layer = QuantumRepresentation(width, layers, ansatz=ansatz, **MODES[mode])
            layer.build((None, width))
            reps = max(1, repeats // 4) if mode in ("parameter_shift", "shots100") else repeats
            f, fb = (_median_ms(t, reps) for t in _timers(layer, [layer.ansatz_weights], x))
            rows.append(dict(width=width, mode=mode, fwd=f, fwd_bwd=fb, ratio=fb / base_fb))
    return rows


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m bench.qnn", description=description,
                                epilog=epilog)
    parser.add_argument("--width", type=cli.positive_int, nargs="+", default=[8],
                        help="qubits W, one or more (default 8)")
    parser.add_argument("--batch", type=cli.positive_int, default=512)
    parser.add_argument("--layers", type=cli.positive_int, default=2)
    parser.add_argument("--ansatz", default="ring", choices=ANSATZE)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--repeats", type=cli.positive_int, default=8)
    parser.add_argument("--baseline-max-width", type=cli.non_negative_int, default=16,
                        help="skip the raw TFQ baselines above this width (ratio shows nan)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # Every mode against the ansatz and depth now, not after minutes of earlier modes.
    for mode in args.modes:
        try:
            check_options(**{**_DEFAULTS, **MODES[mode]}, ansatz=args.ansatz, layers=args.layers)
        except ConfigError as err:
            raise ConfigError(f"mode {mode}: {err}") from None
    cli.load_tensorflow()
    print(describe(), flush=True)
    rows = run(args.width, args.batch, args.layers, args.ansatz, args.modes, args.repeats,
               args.baseline_max_width)
    print(f"QuantumRepresentation, {args.ansatz} L={args.layers}, batch {args.batch}; "
          f"ratio = fwd+bwd / raw ControlledPQC adjoint fwd+bwd, same run")
    print(f"{'W':>3}  {'mode':<30} {'fwd ms':>10} {'fwd+bwd ms':>12} {'ratio':>8}")
    for r in rows:
        print(f"{r['width']:>3}  {r['mode']:<30} {r['fwd']:>10.1f} {r['fwd_bwd']:>12.1f} {r['ratio']:>8.2f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("bench.qnn", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
