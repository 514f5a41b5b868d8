"""TensorCircuit against our simulators: ``python -m bench.tensorcircuit --width 8``.

Needs ``pip install tensorcircuit-ng==1.10.0 cotengra`` (not a project dependency:
the plain ``tensorcircuit`` 0.12 package does not import with NumPy 2). Times ⟨Z_k⟩ of
the ring representation circuit, forward and forward+backward (gradients to inputs and
weights of Σ ⟨Z⟩·R), batch 512, for tensorcircuit-ng with the TensorFlow backend and
for ``StatevectorAutodiff`` / ``TensorNetworkAutodiff``, best of 3 after a warm-up,
and checks that they agree. Run one configuration per process (``--impl``, ``--mode``,
``--contractor``): TensorCircuit's contraction settings are global.

The Cirq circuit stays the single source of truth: ``tc.Circuit.from_cirq`` cannot
take the symbolic circuit (it calls ``np.isclose`` on sympy exponents) and on a
resolved one turns each CRX into a constant unitary, so :func:`translate` maps every
gate to a TensorCircuit gate and every affine angle to a row of a coefficient matrix.

TensorCircuit read-out modes: ``state`` (contract to the final state, then |ψ|²
against a ±1 table), ``ps`` (``expectation_ps`` with the state cached), ``tn``
(``expectation_ps(reuse=False)``: one ⟨ψ|Z_k|ψ⟩ network per qubit), ``tn_lc`` (the same
with light-cone cancellation).
"""

from __future__ import annotations

import argparse
import json
import time

import tfq_ssl  # noqa: F401
import cirq
import numpy as np
import tensorflow as tf

from tfq_ssl.quantum import circuits
from tfq_ssl.quantum import gate_angles

_TC_ROTATION = {cirq.rx: "rx", cirq.ry: "ry", cirq.rz: "rz"}


def _single(gate):
    """('rx'|'ry'|'rz', angle) for a rotation, (name, None) for a fixed gate."""
    rotation = gate_angles.rotation_of(gate)
    if rotation is not None:
        builder, angle = rotation
        return _TC_ROTATION[builder], angle
    if not cirq.is_parameterized(gate):
        for t, name in ((cirq.XPowGate, "x"), (cirq.YPowGate, "y"), (cirq.ZPowGate, "z"),
                        (cirq.HPowGate, "h")):
            if isinstance(gate, t) and gate.exponent == 1:
                return name, None
    raise ValueError(f"unsupported gate {gate!r}")


def translate(circuit, qubits, input_symbols, weight_symbols):
    """Gate list [(tc_name, qubit indices, angle row or None)], A_in, A_w, bias."""
    qidx = {q: i for i, q in enumerate(qubits)}
    syms = list(input_symbols) + list(weight_symbols)
    sidx = {s: i for i, s in enumerate(syms)}
    n_in = len(input_symbols)
    gates, rows, bias = [], [], []
    for op in circuit.all_operations():
        idx = tuple(qidx[q] for q in op.qubits)
        if isinstance(op, cirq.ControlledOperation) or isinstance(op.gate, cirq.ControlledGate):
            if isinstance(op, cirq.ControlledOperation):
                sub, cv, nc = op.sub_operation.gate, op.control_values, len(op.controls)
            else:
                sub, cv, nc = op.gate.sub_gate, op.gate.control_values, op.gate.num_controls()
            if nc != 1 or list(cv.expand()) != [(1,)]:
                raise ValueError(f"unsupported control in {op!r}")
            name, angle = _single(sub)
            name = {"x": "cnot", "z": "cz", "y": "cy"}.get(name, "c" + name)
        elif isinstance(op.gate, cirq.CZPowGate) and op.gate.exponent == 1:
            name, angle = "cz", None
        elif isinstance(op.gate, cirq.CXPowGate) and op.gate.exponent == 1:
            name, angle = "cnot", None
        elif isinstance(op.gate, cirq.IdentityGate):
            continue
        else:
            name, angle = _single(op.gate)
        if angle is None:
            gates.append((name, idx, None))
            continue
        row, b = gate_angles.affine_angle(angle, sidx, f"operation {op!r}", "the circuit's symbols")
        gates.append((name, idx, len(rows)))
        rows.append(row)
        bias.append(b)
    a = np.array(rows).reshape(-1, len(syms))
    return gates, a[:, :n_in], a[:, n_in:], np.array(bias)


class TCRepresentation:
    """Batched ⟨Z_k⟩ (B, W) of the representation circuit with TensorCircuit."""

    def __init__(self, circuit, qubits, input_symbols, weight_symbols, mode="state"):
        self.width = len(qubits)
        self.mode = mode
        self.gates, a_in, a_w, bias = translate(circuit, qubits, input_symbols, weight_symbols)
        rdt = tf.float32
        self.a_in = tf.constant(a_in, rdt)
        self.a_w = tf.constant(a_w, rdt)
        self.bias = tf.constant(bias, rdt)
        w = self.width
        bits = (np.arange(2**w)[:, None] >> np.arange(w - 1, -1, -1)[None, :]) & 1
        self.ztable = tf.constant(1 - 2 * bits, rdt)  # (2**W, W), qubit 0 = MSB
        self.batched = tc.backend.vmap(self.single, vectorized_argnums=0)
        self.forward = tc.backend.jit(self.batched)

        def loss(x, r, wts):  # per-row scalar: sum_k <Z_k> r_k
            return tf.reduce_sum(self.single(x, wts) * r)

        # values (B,), grads: (B, W) for x (per row), (n_w,) for weights (summed over B)
        self.value_and_grad = tc.backend.jit(
            tc.backend.vectorized_value_and_grad(loss, argnums=(0, 2), vectorized_argnums=(0, 1))
        )

    def circuit(self, x, wts):
        angles = tf.linalg.matvec(self.a_in, x) + tf.linalg.matvec(self.a_w, wts) + self.bias
        c = tc.Circuit(self.width)
        for name, idx, j in self.gates:
            if j is None:
                getattr(c, name)(*idx)
            else:
                getattr(c, name)(*idx, theta=angles[j])
        return c

    def single(self, x, wts):
        """⟨Z_k⟩ (W,) for one input row x (W,) and the shared weights."""
        c = self.circuit(x, wts)
        if self.mode == "state":
            psi = c.state()
            p = tf.math.real(psi * tf.math.conj(psi))
            return tf.linalg.matvec(self.ztable, p, transpose_a=True)
        kw = {"ps": {}, "tn": {"reuse": False},
              "tn_lc": {"reuse": False, "enable_lightcone": True}}[self.mode]
        return tf.math.real(tf.stack([c.expectation_ps(z=[k], **kw) for k in range(self.width)]))


def _tensorcircuit(contractor: str):
    try:
        import tensorcircuit as tc
    except ImportError as error:  # pragma: no cover - optional dependency
        raise SystemExit(
            "bench.tensorcircuit needs TensorCircuit: pip install tensorcircuit-ng==1.10.0 "
            f"cotengra ({error})."
        )
    tc.set_backend("tensorflow")
    tc.set_dtype("complex64")
    if contractor == "greedy":
        tc.set_contractor("greedy")
    else:
        import cotengra as ctg

        opt = ctg.ReusableHyperOptimizer(methods=["greedy"], max_repeats=16, max_time=5,
                                         parallel=False, minimize="flops", progbar=False)
        tc.set_contractor("custom", optimizer=opt, preprocessing=True)
    return tc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=["statevector", "tensornet", "tc"], default="tc")
    parser.add_argument("--mode", choices=["state", "ps", "tn", "tn_lc"], default="state")
    parser.add_argument("--contractor", choices=["greedy", "cotengra"], default="greedy")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)

    circuit, qubits, xs, ws = circuits.representation_circuit(args.width, args.layers, "ring")
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, np.pi, (args.batch, args.width)), tf.float32)
    w = tf.constant(rng.uniform(-np.pi, np.pi, len(ws)), tf.float32)
    r = tf.constant(rng.normal(size=(args.batch, args.width)), tf.float32)

    if args.impl == "tc":
        global tc
        tc = _tensorcircuit(args.contractor)
        model = TCRepresentation(circuit, qubits, xs, ws, mode=args.mode)
        fwd = lambda: model.forward(x, w)  # noqa: E731
        fwd_bwd = lambda: model.value_and_grad(x, r, w)  # noqa: E731
    else:
        from tfq_ssl.quantum.statevector import StatevectorAutodiff
        from tfq_ssl.quantum.tensornet import TensorNetworkAutodiff

        cls = StatevectorAutodiff if args.impl == "statevector" else TensorNetworkAutodiff
        sim = cls(circuit, qubits, xs, ws)
        fwd = tf.function(lambda: sim.expectation_z(x, w))

        @tf.function
        def fwd_bwd():
            with tf.GradientTape() as tape:
                tape.watch([x, w])
                loss = tf.reduce_sum(sim.expectation_z(x, w) * r)
            return tape.gradient(loss, [x, w])

    # Agreement with the statevector simulator on the first 8 rows (values).
    from tfq_ssl.quantum.statevector import StatevectorAutodiff

    reference = StatevectorAutodiff(circuit, qubits, xs, ws).expectation_z(x[:8], w).numpy()
    out = dict(impl=args.impl, W=args.width, batch=args.batch,
               max_abs_diff=float(np.max(np.abs(np.asarray(fwd())[:8] - reference))))
    if args.impl == "tc":
        out.update(mode=args.mode, contractor=args.contractor)
    for name, fn in (("fwd", fwd), ("fwd_bwd", fwd_bwd)):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: np.asarray(t), fn())
        out[f"first_{name}_s"] = round(time.perf_counter() - start, 2)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            tf.nest.map_structure(lambda t: np.asarray(t), fn())
            times.append(time.perf_counter() - start)
        out[f"{name}_ms"] = round(1e3 * min(times), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
