"""Cirq circuits of the quantum representation network.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 3.2 and
Fig. 2: angle data loading with RX, then L layers of a parameterised ansatz, read out
as ⟨Z_k⟩ on every qubit.

Every builder returns ``(cirq.Circuit, symbols)``. Symbol names carry a prefix and a
zero-padded index (``x_00``, ``theta_031``) so that their string order equals their
index order: weight ``i`` always means the same gate, however a tool sorts names.
"""

from __future__ import annotations

from typing import Sequence

import cirq
import numpy as np
import sympy

from tfq_ssl.checks import check_positive_int
from tfq_ssl.quantum.options import ANSATZE


def _check_qubits(qubits: Sequence[cirq.Qid]) -> list[cirq.Qid]:
    qubits = list(qubits)
    if len(qubits) < 1:
        raise ValueError(
            f"qubits must hold at least one qubit, got {len(qubits)}; "
            "pass e.g. cirq.LineQubit.range(width)."
        )
    return qubits


def _check_layers(layers: int) -> int:
    return check_positive_int("layers", layers)


def make_symbols(prefix: str, count: int) -> list[sympy.Symbol]:
    """``count`` symbols named ``{prefix}_{i}`` with a zero-padded index.

    Args:
        prefix: name prefix, e.g. ``"x"`` for inputs, ``"theta"`` for weights.
        count: number of symbols.

    Returns:
        Symbols whose sorted string order equals their index order.
    """
    digits = max(2, len(str(max(count - 1, 0))))
    return [sympy.Symbol(f"{prefix}_{i:0{digits}d}") for i in range(count)]


def data_loading(
    qubits: Sequence[cirq.Qid], prefix: str = "x"
) -> tuple[cirq.Circuit, list[sympy.Symbol]]:
    """Angle encoding: RX(x_k) on qubit k (paper Fig. 2, "data loading").

    Args:
        qubits: the W qubits.
        prefix: symbol prefix for the input angles.

    Returns:
        The circuit and the W input symbols, in qubit order.
    """
    qubits = _check_qubits(qubits)
    symbols = make_symbols(prefix, len(qubits))
    circuit = cirq.Circuit(cirq.Moment(cirq.rx(s).on(q) for q, s in zip(qubits, symbols)))
    return circuit, symbols


def ring_ansatz(
    qubits: Sequence[cirq.Qid], layers: int, prefix: str = "theta"
) -> tuple[cirq.Circuit, list[sympy.Symbol]]:
    """Ring ansatz (circuit 14 of Sim et al. 2019, as in the paper's Fig. 2).

    Per layer: RY(θ) on every qubit, then CRX(θ) with control i and target
    (i + 1) mod W for i = 0 .. W-1 in that order. For W = 1 the controlled
    rotation has no partner qubit and is left out.

    Args:
        qubits: the W qubits.
        layers: number of layers L >= 1.
        prefix: symbol prefix for the trainable angles.

    Returns:
        The circuit and its 2·W·L symbols (W·L for W = 1), in gate order.
    """
    return _ring(qubits, layers, prefix, entangled=True)


def ring_product_ansatz(
    qubits: Sequence[cirq.Qid], layers: int, prefix: str = "theta"
) -> tuple[cirq.Circuit, list[sympy.Symbol]]:
    """The ring ansatz with its entanglement removed: a control of the paper's circuit.

    Every CRX(θ) of :func:`ring_ansatz` (control i, target (i + 1) mod W) becomes
    RX(θ) on the same target, in the same place: the same symbols in the same order
    (2·W·L), the same moments and depth, but every gate acts on one qubit, so the state
    stays a product state and ⟨Z_k⟩ depends on qubit k's input angle only. After the
    data-loading RX(x_k) the rest of qubit k's circuit is a fixed rotation R_k of its
    Bloch vector, so ⟨Z_k⟩ = R_k[z,z]·cos x_k − R_k[z,y]·sin x_k: one sinusoid of x_k
    with amplitude at most 1.

    Args:
        qubits: the W qubits.
        layers: number of layers L >= 1.
        prefix: symbol prefix for the trainable angles.

    Returns:
        The circuit and its 2·W·L symbols (W·L for W = 1), in gate order.
    """
    return _ring(qubits, layers, prefix, entangled=False)


def _ring(qubits: Sequence[cirq.Qid], layers: int, prefix: str, entangled: bool
          ) -> tuple[cirq.Circuit, list[sympy.Symbol]]:
    """The ring's layers; each link i → (i + 1) mod W is CRX (``entangled``) or RX on
    the target alone, one gate a moment either way."""
    qubits = _check_qubits(qubits)
    layers = _check_layers(layers)
    width = len(qubits)
    per_layer = 2 * width if width > 1 else 1
    symbols = make_symbols(prefix, per_layer * layers)
    it = iter(symbols)
    circuit = cirq.Circuit()
    for _ in range(layers):
        circuit.append(cirq.Moment(cirq.ry(next(it)).on(q) for q in qubits))
        if width > 1:
            for i in range(width):
                control, target = qubits[i], qubits[(i + 1) % width]
                gate = cirq.rx(next(it)).on(target)
                circuit.append(gate.controlled_by(control) if entangled else gate,
                               strategy=cirq.InsertStrategy.NEW)
    return circuit, symbols


def all_to_all_ansatz(
    qubits: Sequence[cirq.Qid], layers: int, prefix: str = "theta"
) -> tuple[cirq.Circuit, list[sympy.Symbol]]:
    """All-to-all ansatz of the paper's Fig. 10 comparison.

    An initial RY on every qubit, then per layer a CNOT for every pair i < j
    (control i, target j) followed by RY on every qubit.

    Args:
        qubits: the W qubits.
        layers: number of layers L >= 1.
        prefix: symbol prefix for the trainable angles.

    Returns:
        The circuit and its (L + 1)·W symbols (32 at W = 8, L = 3).
    """
    qubits = _check_qubits(qubits)
    layers = _check_layers(layers)
    width = len(qubits)
    symbols = make_symbols(prefix, (layers + 1) * width)
    it = iter(symbols)
    circuit = cirq.Circuit(cirq.Moment(cirq.ry(next(it)).on(q) for q in qubits))
    for _ in range(layers):
        for i in range(width):
            for j in range(i + 1, width):
                circuit.append(cirq.CNOT(qubits[i], qubits[j]), strategy=cirq.InsertStrategy.NEW)
        circuit.append(cirq.Moment(cirq.ry(next(it)).on(q) for q in qubits))
    return circuit, symbols


_ANSATZ_BUILDERS = {"ring": ring_ansatz, "ring_product": ring_product_ansatz,
                    "all_to_all": all_to_all_ansatz}


def representation_circuit(
    width: int, layers: int, ansatz: str = "ring"
) -> tuple[cirq.Circuit, list[cirq.Qid], list[sympy.Symbol], list[sympy.Symbol]]:
    """The full representation circuit: data loading followed by the ansatz.

    Args:
        width: number of qubits W >= 1.
        layers: ansatz layers L >= 1.
        ansatz: ``"ring"``, ``"ring_product"`` or ``"all_to_all"``.

    Returns:
        ``(circuit, qubits, input_symbols, weight_symbols)``; qubits are
        ``cirq.LineQubit.range(width)``.
    """
    check_positive_int("width", width)
    if ansatz not in _ANSATZ_BUILDERS:
        raise ValueError(f"ansatz must be one of {ANSATZE}, got {ansatz!r}.")
    qubits = cirq.LineQubit.range(width)
    loading, input_symbols = data_loading(qubits)
    body, weight_symbols = _ANSATZ_BUILDERS[ansatz](qubits, layers)
    return loading + body, qubits, input_symbols, weight_symbols


def readout_operators(qubits: Sequence[cirq.Qid]) -> list[cirq.PauliString]:
    """⟨Z_k⟩ on every qubit, in qubit order."""
    return [cirq.Z(q) for q in qubits]


def _controlled_rx(op: cirq.Operation) -> tuple[cirq.Qid, cirq.Qid, object] | None:
    """``(control, target, angle)`` when ``op`` is a singly controlled RX, else None."""
    if not isinstance(op, cirq.ControlledOperation):
        return None
    if len(op.controls) != 1 or len(op.sub_operation.qubits) != 1:
        return None
    if op.control_values != cirq.ProductOfSums(((1,),)):
        return None
    gate = op.sub_operation.gate
    if not isinstance(gate, cirq.Rx):
        return None
    return op.controls[0], op.sub_operation.qubits[0], gate._rads


def decompose_controlled_rotations(circuit: cirq.Circuit) -> cirq.Circuit:
    """Rewrite every CRX(a) as RX(a/2)·CZ·RX(-a/2)·CZ on the target.

    The controlled rotation's generator has three eigenvalues, so the two-term
    parameter-shift rule is biased on it (TFQ's ``ParameterShift`` errs by 0.1–0.2
    at W = 8, L = 2). In this form every parametrised gate is a plain RX whose
    generator has eigenvalues ±1/2, and the two-term rule is exact. The unitary is
    identical: with the control in |1⟩ the CZs conjugate RX(-a/2) into RX(a/2).

    Args:
        circuit: a circuit that may contain ``cirq.rx(a).controlled_by(c)``.

    Returns:
        An equivalent circuit without controlled rotations.
    """
    out = cirq.Circuit()
    for moment in circuit:
        for op in moment:
            crx = _controlled_rx(op)
            if crx is None:
                out.append(op, strategy=cirq.InsertStrategy.EARLIEST)
                continue
            control, target, angle = crx
            out.append(
                [
                    cirq.CZ(control, target),
                    cirq.rx(-angle / 2).on(target),
                    cirq.CZ(control, target),
                    cirq.rx(angle / 2).on(target),
                ],
                strategy=cirq.InsertStrategy.EARLIEST,
            )
    return out


def bind(circuit: cirq.Circuit, input_symbols: Sequence[sympy.Symbol],
         weight_symbols: Sequence[sympy.Symbol], angles: object, weights: object,
         what: str = "the circuit") -> cirq.Circuit:
    """``circuit`` with one image's input angles and the ansatz weights bound.

    Values are matched to symbols by name (``x_03``, ``theta_017``), never by the
    position a tool sorted them into. The layer's circuit and the converter's are
    bound here alike.

    Args:
        circuit: a representation circuit (the layer's own, or
            :func:`representation_circuit`'s).
        input_symbols, weight_symbols: its symbols, in the order of ``angles`` and
            ``weights``.
        angles: input angles of one image. Shape: ``(len(input_symbols),)``.
        weights: ansatz weights. Shape: ``(len(weight_symbols),)``.
        what: the circuit, for the weights' error message.

    Raises:
        ValueError: a shape does not match the symbols, or a value is not finite.
    """
    angles = np.asarray(angles, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if angles.shape != (len(input_symbols),):
        raise ValueError(f"angles must have shape ({len(input_symbols)},), got {angles.shape}.")
    if weights.shape != (len(weight_symbols),):
        raise ValueError(f"weights must have shape ({len(weight_symbols)},) for {what}, "
                         f"got {weights.shape}.")
    if not (np.all(np.isfinite(angles)) and np.all(np.isfinite(weights))):
        raise ValueError("angles and weights must be finite.")
    values = {s.name: float(v) for s, v in zip(input_symbols, angles)}
    values.update({s.name: float(v) for s, v in zip(weight_symbols, weights)})
    return cirq.resolve_parameters(circuit, cirq.ParamResolver(values))
