"""Angles read out of circuits: which gates are rotations, each angle as an affine
function of the circuit's symbols, and one symbol per symbolic gate together with the
shift rule that differentiates it.

The simulators' gate compiler (:mod:`tfq_ssl.quantum.circuit_compiler`), the exact parameter
shift on TFQ (:mod:`tfq_ssl.quantum.tfq_shift`) and the sampled statevector engine read
circuits through these; :mod:`tfq_ssl.quantum.circuits` builds them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Sequence

import cirq
import numpy as np
import sympy



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
# The rotation gates, by axis: cirq.rx / ry / rz, and the X/Y/ZPowGates with global
# shift -1/2 that equal them (what Cirq's own transformations may leave behind).
ROTATION_BUILDERS = {"x": cirq.rx, "y": cirq.ry, "z": cirq.rz}
_ROTATIONS = ((cirq.Rx, "x"), (cirq.Ry, "y"), (cirq.Rz, "z"))
_POW_ROTATIONS = ((cirq.XPowGate, "x"), (cirq.YPowGate, "y"), (cirq.ZPowGate, "z"))


def rotation_axis(gate: cirq.Gate) -> tuple[str, object] | None:
    """``(axis, angle)`` of a rotation gate, else None. The angle of ``cirq.rx`` etc. is
    the one it was given (symbolic or not); a PowGate's is its exponent times π."""
    for gate_type, axis in _ROTATIONS:
        if isinstance(gate, gate_type):
            return axis, gate._rads
    for gate_type, axis in _POW_ROTATIONS:
        if isinstance(gate, gate_type) and gate.global_shift == -0.5:
            return axis, gate.exponent * sympy.pi
    return None


def rotation_of(gate: cirq.Gate) -> tuple[object, object] | None:
    """``(builder, angle)`` of a rotation gate (``cirq.rx`` etc. and its angle), else None."""
    found = rotation_axis(gate)
    return None if found is None else (ROTATION_BUILDERS[found[0]], found[1])


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
