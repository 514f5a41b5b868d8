"""Cirq circuits of the quantum representation network.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 3.2 and
Fig. 2: angle data loading with RX, then L layers of a parameterised ansatz, read out
as ⟨Z_k⟩ on every qubit.

Every builder returns ``(cirq.Circuit, symbols)``. Symbol names carry a prefix and a
zero-padded index (``x_00``, ``theta_031``) so that their string order equals their
index order: weight ``i`` always means the same gate, however a tool sorts names.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
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


# Four-term shift rule of a controlled rotation (generator eigenvalues 0, ±1/2):
# f'(a) = c₊[f(a + π/2) − f(a − π/2)] − c₋[f(a + 3π/2) − f(a − 3π/2)].
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
_TWO_TERM = ((math.pi / 2, 0.5), (-math.pi / 2, -0.5))
_FOUR_TERM = (
    (math.pi / 2, _C_PLUS),
    (-math.pi / 2, -_C_PLUS),
    (3 * math.pi / 2, -_C_MINUS),
    (-3 * math.pi / 2, _C_MINUS),
)
_ROTATIONS = ((cirq.Rx, cirq.rx), (cirq.Ry, cirq.ry), (cirq.Rz, cirq.rz))
_POW_ROTATIONS = ((cirq.XPowGate, cirq.rx), (cirq.YPowGate, cirq.ry), (cirq.ZPowGate, cirq.rz))


def rotation_of(gate: cirq.Gate) -> tuple[object, object] | None:
    """``(builder, angle)`` of a rotation gate (``cirq.rx`` etc. and its angle), else None."""
    for gate_type, builder in _ROTATIONS:
        if isinstance(gate, gate_type):
            return builder, gate._rads
    for gate_type, builder in _POW_ROTATIONS:
        if isinstance(gate, gate_type) and gate.global_shift == -0.5:
            return builder, gate.exponent * sympy.pi
    return None


def affine_angle(
    expr: object, symbol_index: dict[sympy.Symbol, int], what: str, known: str
) -> tuple[np.ndarray, float]:
    """Coefficients and constant of an angle that is affine in the known symbols.

    Args:
        expr: a number or a sympy expression, e.g. ``-theta_05/2 + 0.3``.
        symbol_index: column of each known symbol in the returned coefficients.
        what: the thing that holds the angle, for messages (e.g. the operation).
        known: where the known symbols come from, for messages.

    Returns:
        ``(coefficients (len(symbol_index),), constant)``.

    Raises:
        ValueError: on a symbol outside ``symbol_index`` or a non-affine angle.
    """
    coeffs = np.zeros(len(symbol_index))
    if isinstance(expr, numbers.Number):
        return coeffs, float(expr)
    expr = sympy.sympify(expr)
    unknown = expr.free_symbols - set(symbol_index)
    if unknown:
        names = sorted(str(s) for s in unknown)
        raise ValueError(
            f"{what} uses symbols {names} that are not in {known}; pass every circuit "
            f"symbol in {known}."
        )
    for symbol in expr.free_symbols:
        derivative = sympy.diff(expr, symbol)
        if derivative.free_symbols:
            raise ValueError(
                f"{what} has angle {expr}, which is not affine in its symbols "
                "(e.g. 2*x_00 + 0.5); only affine angles can be compiled."
            )
        coeffs[symbol_index[symbol]] = float(derivative)
    return coeffs, float(expr.subs({s: 0 for s in expr.free_symbols}))


@dataclasses.dataclass(frozen=True)
class SymbolOccurrences:
    """A circuit whose symbolic rotations each carry their own symbol.

    Parameter-shift rules differentiate each *occurrence* of a symbol (each gate
    whose angle depends on it) separately, as TFQ's ``ParameterShift`` does; with one
    symbol per occurrence a shifted circuit is just a change of one symbol value.

    Attributes:
        circuit: the rewritten circuit (same unitary for matching values).
        symbols: the occurrence symbols, one per symbolic gate, in circuit order.
        coefficients: ``(occurrences, len(source_symbols))``: occurrence angle
            ``j`` is ``coefficients[j] · source values + bias[j]``.
        bias: ``(occurrences,)`` constant part of each angle.
        controlled: ``(occurrences,)`` bool, whether the rotation is controlled
            (generator eigenvalues {0, ±1/2}, so it needs the four-term rule).
    """

    circuit: cirq.Circuit
    symbols: list[sympy.Symbol]
    coefficients: np.ndarray
    bias: np.ndarray
    controlled: np.ndarray

    def angles(self, values: np.ndarray) -> np.ndarray:
        """Occurrence angles ``(..., occurrences)`` for source ``values`` ``(..., n)``."""
        return np.asarray(values) @ self.coefficients.T + self.bias

    def shift_terms(self, four_term: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Exact parameter-shift rule for every source symbol.

        Returns:
            ``(shifts, weights)``: ``shifts`` ``(terms, occurrences)`` holds, per
            shifted circuit, the offset added to the occurrence angles (one nonzero
            entry), and ``weights`` ``(terms, len(source_symbols))`` is such that
            ∂f/∂symbol_s = Σ_t weights[t, s] · f(angles + shifts[t]). Rotations use
            the two-term rule (±π/2, ±1/2); controlled rotations the four-term rule.

        Raises:
            ValueError: if ``four_term`` is False and a controlled rotation depends
                on a symbol (the two-term rule is biased on it).
        """
        shifts, weights = [], []
        for j in range(len(self.symbols)):
            if not np.any(self.coefficients[j]):
                continue
            if self.controlled[j] and not four_term:
                raise ValueError(
                    f"occurrence {j} is a symbolic controlled rotation, whose generator "
                    "has three eigenvalues: the two-term parameter-shift rule is biased "
                    "on it. Rewrite the circuit first with "
                    "tfq_ssl.quantum.circuits.decompose_controlled_rotations."
                )
            for shift, weight in _FOUR_TERM if self.controlled[j] else _TWO_TERM:
                row = np.zeros(len(self.symbols))
                row[j] = shift
                shifts.append(row)
                weights.append(weight * self.coefficients[j])
        n = self.coefficients.shape[1]
        return (
            np.array(shifts).reshape(-1, len(self.symbols)),
            np.array(weights).reshape(-1, n),
        )


def split_symbol_occurrences(
    circuit: cirq.Circuit, source_symbols: Sequence[sympy.Symbol], prefix: str = "occ"
) -> SymbolOccurrences:
    """Give every symbolic rotation of ``circuit`` its own symbol.

    Args:
        circuit: a circuit whose symbolic gates are rotations (``cirq.rx/ry/rz``, or
            X/Y/ZPowGate with ``global_shift=-0.5``), optionally controlled, with
            angles affine in ``source_symbols`` (e.g. ``-theta_05/2``).
        source_symbols: every symbol of ``circuit`` (inputs then weights, say).
        prefix: prefix of the new symbols (must not clash with the source ones).

    Returns:
        A :class:`SymbolOccurrences`.

    Raises:
        ValueError: on another symbolic gate, a non-affine angle or an unknown symbol.
    """
    source_symbols = list(source_symbols)
    index = {s: i for i, s in enumerate(source_symbols)}
    rows, biases, controlled, symbols = [], [], [], []

    def fresh(gate, op, is_controlled):
        found = rotation_of(gate) if gate is not None else None
        if found is None:
            raise ValueError(
                f"operation {op!r} is symbolic but not a (controlled) single-qubit "
                "rotation; parameter shift here handles cirq.rx / ry / rz angles only."
            )
        builder, angle = found
        row, bias = affine_angle(angle, index, f"operation {op!r}", "source_symbols")
        symbol = sympy.Symbol(f"{prefix}_{len(symbols):04d}")
        if symbol in index:
            raise ValueError(f"prefix {prefix!r} clashes with the symbol {symbol}.")
        symbols.append(symbol)
        rows.append(row)
        biases.append(bias)
        controlled.append(is_controlled)
        return builder(symbol)

    moments = []
    for moment in circuit:
        ops = []
        for op in moment:
            if not cirq.is_parameterized(op):
                ops.append(op)
            elif isinstance(op, cirq.ControlledOperation):
                sub = op.sub_operation
                new = fresh(sub.gate, op, True).on(*sub.qubits)
                ops.append(cirq.ControlledOperation(op.controls, new, op.control_values))
            elif isinstance(op.gate, cirq.ControlledGate):
                gate = op.gate
                new = cirq.ControlledGate(
                    fresh(gate.sub_gate, op, True),
                    num_controls=gate.num_controls(),
                    control_values=gate.control_values,
                    control_qid_shape=gate.control_qid_shape,
                )
                ops.append(new.on(*op.qubits))
            else:
                ops.append(fresh(op.gate, op, False).on(*op.qubits))
        moments.append(cirq.Moment(ops))
    n = len(source_symbols)
    return SymbolOccurrences(
        cirq.Circuit(moments),
        symbols,
        np.array(rows).reshape(-1, n),
        np.array(biases),
        np.array(controlled, dtype=bool),
    )
