"""The gate compiler shared by the project's own engines (statevector, tensor network).

A Cirq circuit of the representation network (Jaderberg et al., "Quantum
Self-Supervised Learning", Fig. 2) is read once into :class:`Gate` templates (qubit
indices, a constant matrix and the entries a rotation fills in) and
:class:`Rotation` s (each angle an affine form of the per-row input symbols and the
shared weight symbols). :class:`AngleTable` turns those angles into half-angle
tensors at run time; :class:`CircuitEngine` checks the arguments every engine takes.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf

from tfq_ssl.quantum.gate_angles import affine_angle, rotation_axis
from tfq_ssl.quantum.executor import Executor

__all__ = [
    "SUPPORTED_GATES", "ROTATION_GENERATORS", "Rotation", "Gate", "GateCompiler",
    "AngleTable", "CircuitEngine", "validate_circuit_args", "check_run_args",
]

SUPPORTED_GATES = (
    "cirq.Rx / cirq.Ry / cirq.Rz (angle: float or affine sympy expression of the symbols)",
    "XPowGate / YPowGate / ZPowGate (numeric exponent; symbolic only with global_shift=-0.5)",
    "HPowGate, CZPowGate, CXPowGate (numeric exponent; cirq.H, cirq.CZ, cirq.CNOT)",
    "IdentityGate",
    "singly controlled (control value 1) versions of the single-qubit gates above",
)

# Rotation R_P(a) = cos(a/2)·I + sin(a/2)·(-i P); these are the (-i P) matrices.
ROTATION_GENERATORS = {
    "x": np.array([[0, -1j], [-1j, 0]]),
    "y": np.array([[0, -1], [1, 0]], dtype=complex),
    "z": np.array([[-1j, 0], [0, 1j]]),
}
_FIXED_SINGLE = (cirq.XPowGate, cirq.YPowGate, cirq.ZPowGate, cirq.HPowGate)
_FIXED_TWO = (cirq.CZPowGate, cirq.CXPowGate)


@dataclasses.dataclass(frozen=True)
class Rotation:
    """An angle a = inputs·a_in + weights·a_w + bias of a rotation about ``axis``."""

    axis: str
    a_in: np.ndarray  # (n_inputs,)
    a_w: np.ndarray  # (n_weights,)
    bias: float

    @property
    def per_row(self) -> bool:
        return bool(np.any(self.a_in != 0))


@dataclasses.dataclass
class Gate:
    """One gate: qubit indices plus a template of its 2**a x 2**a matrix.

    ``slots[i, j] >= 0`` means entry (i, j) is entry ``slots[i, j]`` (row-major index
    into the 2x2 matrix) of rotation ``rotation``; otherwise it is ``const[i, j]``.
    """

    qubits: tuple[int, ...]
    const: np.ndarray
    slots: np.ndarray
    rotation: int | None  # index into the simulator's rotation list
    per_row: bool


class GateCompiler:
    """Turns Cirq operations into :class:`Gate` templates and :class:`Rotation` s."""

    def __init__(self, qubit_index, symbol_index, n_inputs, n_weights):
        self.qubit_index = qubit_index
        self.symbol_index = symbol_index
        self.n_inputs = n_inputs
        self.n_weights = n_weights
        self.rotations: list[Rotation] = []

    def _rotation(self, axis: str, rads, op: cirq.Operation) -> Rotation:
        coeffs, bias = affine_angle(
            rads, self.symbol_index, f"operation {op!r}", "input_symbols or weight_symbols"
        )
        return Rotation(axis, coeffs[: self.n_inputs], coeffs[self.n_inputs :], bias)

    def _single(self, gate: cirq.Gate, op: cirq.Operation):
        """(rotation or None, 2x2 constant) for a supported single-qubit gate."""
        if isinstance(gate, _FIXED_SINGLE) and not cirq.is_parameterized(gate):
            return None, cirq.unitary(gate)  # numeric rotations included (cirq.Rx is an XPowGate)
        rotation = rotation_axis(gate)
        if rotation is not None:
            return self._rotation(*rotation, op), None
        if isinstance(gate, cirq.IdentityGate) and gate.num_qubits() == 1:
            return None, np.eye(2, dtype=complex)
        if isinstance(gate, _FIXED_SINGLE):
            raise ValueError(
                f"gate {gate!r} in operation {op!r} has a symbolic exponent with "
                f"global_shift={gate.global_shift}; only rotations are supported with "
                "symbols: use cirq.rx / cirq.ry / cirq.rz."
            )
        raise ValueError(self._unsupported(gate, op))

    @staticmethod
    def _unsupported(gate, op) -> str:
        return (
            f"unsupported gate {gate!r} in operation {op!r}; StatevectorAutodiff "
            f"compiles only: {'; '.join(SUPPORTED_GATES)}."
        )

    def _add_rotation(self, rotation: Rotation) -> int:
        self.rotations.append(rotation)
        return len(self.rotations) - 1

    def gate(self, op: cirq.Operation) -> Gate:
        qubits = tuple(self.qubit_index[q] for q in op.qubits)
        gate = op.gate
        controls = None
        if isinstance(op, cirq.ControlledOperation):
            controls, sub_op = op.controls, op.sub_operation
            control_values, sub_gate = op.control_values, sub_op.gate
        elif isinstance(gate, cirq.ControlledGate):
            controls = op.qubits[: gate.num_controls()]
            control_values, sub_gate = gate.control_values, gate.sub_gate
        if controls is not None:
            if (
                len(controls) != 1
                or sub_gate is None
                or sub_gate.num_qubits() != 1
                or list(control_values.expand()) != [(1,)]
            ):
                raise ValueError(
                    f"unsupported controlled operation {op!r}; only a single control "
                    "qubit with control value 1 on a single-qubit gate is supported."
                )
            rotation, matrix = self._single(sub_gate, op)
            const = np.eye(4, dtype=complex)
            slots = -np.ones((4, 4), dtype=np.int64)
            if rotation is None:
                const[2:, 2:] = matrix
                return Gate(qubits, const, slots, None, False)
            const[2:, 2:] = 0
            slots[2:, 2:] = np.arange(4).reshape(2, 2)
            index = self._add_rotation(rotation)
            return Gate(qubits, const, slots, index, rotation.per_row)
        if gate is None:
            raise ValueError(self._unsupported(gate, op))
        if len(qubits) == 1:
            rotation, matrix = self._single(gate, op)
            if rotation is None:
                return Gate(qubits, matrix, -np.ones((2, 2), np.int64), None, False)
            index = self._add_rotation(rotation)
            slots = np.arange(4).reshape(2, 2)
            return Gate(qubits, np.zeros((2, 2), complex), slots, index, rotation.per_row)
        if isinstance(gate, _FIXED_TWO) and len(qubits) == 2:
            if cirq.is_parameterized(gate):
                raise ValueError(
                    f"gate {gate!r} in operation {op!r} has a symbolic exponent; only "
                    "numeric two-qubit gates are supported (parametrise a controlled "
                    "rotation instead, e.g. cirq.rx(s).on(t).controlled_by(c))."
                )
            return Gate(qubits, cirq.unitary(gate), -np.ones((4, 4), np.int64), None, False)
        if isinstance(gate, cirq.IdentityGate):
            return Gate(qubits, np.eye(2 ** len(qubits), dtype=complex),
                         -np.ones((2 ** len(qubits),) * 2, np.int64), None, False)
        raise ValueError(self._unsupported(gate, op))


def validate_circuit_args(circuit, qubits, input_symbols, weight_symbols, dtype):
    """Checked (qubits, input_symbols, weight_symbols, dtype) of a simulator."""
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise TypeError(f"circuit must be a cirq.Circuit, got {type(circuit).__name__}.")
    qubits = list(qubits)
    if not qubits:
        raise ValueError("qubits must hold at least one qubit, got an empty sequence.")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"qubits must be distinct, got {qubits}.")
    missing = sorted(set(circuit.all_qubits()) - set(qubits))
    if missing:
        raise ValueError(
            f"circuit acts on qubits {missing} that are not in qubits; pass the "
            "whole register (e.g. the qubits returned by representation_circuit)."
        )
    input_symbols, weight_symbols = list(input_symbols), list(weight_symbols)
    for name, symbols in (("input_symbols", input_symbols), ("weight_symbols", weight_symbols)):
        bad = [s for s in symbols if not isinstance(s, sympy.Symbol)]
        if bad:
            raise TypeError(f"{name} must hold sympy.Symbol objects, got {bad!r}.")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"{name} contains repeated symbols: {symbols}.")
    shared = sorted(str(s) for s in set(input_symbols) & set(weight_symbols))
    if shared:
        raise ValueError(
            f"symbols {shared} are in both input_symbols and weight_symbols; each "
            "symbol is either a per-row input or a shared weight."
        )
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.complex64, tf.complex128):
        raise ValueError(f"dtype must be tf.complex64 or tf.complex128, got {dtype.name}.")
    return qubits, input_symbols, weight_symbols, dtype


def check_run_args(inputs, weights, n_inputs: int, n_weights: int, real_dtype):
    """``inputs`` (B, n_inputs) and ``weights`` (n_weights,) cast to ``real_dtype``."""
    inputs = tf.convert_to_tensor(inputs)
    weights = tf.convert_to_tensor(weights)
    if inputs.shape.rank is not None and (
        inputs.shape.rank != 2
        or (inputs.shape[1] is not None and inputs.shape[1] != n_inputs)
    ):
        raise ValueError(
            f"inputs must have shape (batch, {n_inputs}) (one column per "
            f"input symbol), got {inputs.shape}."
        )
    if weights.shape.rank is not None and weights.shape != (n_weights,):
        raise ValueError(
            f"weights must have shape ({n_weights},) (one entry per weight "
            f"symbol), got {weights.shape}."
        )
    if not (inputs.dtype.is_floating and weights.dtype.is_floating):
        raise TypeError(
            f"inputs and weights must be floating point, got {inputs.dtype.name} "
            f"and {weights.dtype.name}."
        )
    return tf.cast(inputs, real_dtype), tf.cast(weights, real_dtype)


@dataclasses.dataclass(frozen=True)
class AngleTable:
    """The rotation angles of a compiled circuit as matrices, shared and per-row apart.

    Shared rotations depend on the weights only (one angle for the whole batch);
    per-row rotations depend on input symbols too. Angle of shared rotation i:
    ``shared_aw[i] · weights + shared_bias[i]``; of per-row rotation j:
    ``row_ain[j] · inputs + row_aw[j] · weights + row_bias[j]``.

    Attributes:
        shared: indices (into the compiler's rotations) of the shared rotations.
        row: indices of the per-row rotations.
    """

    shared: list[int]
    row: list[int]
    shared_aw: np.ndarray  # (n_shared, n_weights)
    shared_bias: np.ndarray  # (n_shared,)
    row_ain: np.ndarray  # (n_row, n_inputs)
    row_aw: np.ndarray  # (n_row, n_weights)
    row_bias: np.ndarray  # (n_row,)

    @classmethod
    def of(cls, rotations: Sequence[Rotation], n_inputs: int, n_weights: int) -> "AngleTable":
        """Split ``rotations`` (a :class:`GateCompiler`'s) into the two tables."""
        shared = [i for i, r in enumerate(rotations) if not r.per_row]
        row = [i for i, r in enumerate(rotations) if r.per_row]

        def stack(ids, attr, n):
            return np.array([getattr(rotations[i], attr) for i in ids]).reshape(len(ids), n)

        return cls(
            shared, row,
            stack(shared, "a_w", n_weights), np.array([rotations[i].bias for i in shared]),
            stack(row, "a_in", n_inputs), stack(row, "a_w", n_weights),
            np.array([rotations[i].bias for i in row]),
        )

    def shared_half_angles(self, weights: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
        """Half angles ``(n_shared,)`` of the shared rotations."""
        return 0.5 * (
            tf.linalg.matvec(tf.constant(self.shared_aw, dtype), weights)
            + tf.constant(self.shared_bias, dtype)
        )

    def row_half_angles(self, inputs: tf.Tensor, weights: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
        """Half angles ``(batch, n_row)`` of the per-row rotations."""
        return 0.5 * (
            tf.matmul(inputs, tf.constant(self.row_ain.T, dtype))
            + tf.linalg.matvec(tf.constant(self.row_aw, dtype), weights)[tf.newaxis]
            + tf.constant(self.row_bias, dtype)
        )


class CircuitEngine(Executor):
    """Set-up shared by the project's engines: checked arguments and the gate compiler.

    Subclasses compile the circuit in ``__init__`` (after :meth:`_setup`) and
    implement ``_expectation_z`` / ``_state`` on checked, cast arguments.
    """

    def _setup(self, circuit, qubits, input_symbols, weight_symbols, dtype) -> GateCompiler:
        """Store the checked register, symbols and dtypes; return a compiler for them."""
        qubits, input_symbols, weight_symbols, dtype = validate_circuit_args(
            circuit, qubits, input_symbols, weight_symbols, dtype
        )
        self.circuit = circuit
        self.qubits = qubits
        self.input_symbols = input_symbols
        self.weight_symbols = weight_symbols
        self.dtype = dtype
        self.real_dtype = dtype.real_dtype
        self.width = len(qubits)
        self.n_inputs = len(input_symbols)
        self.n_weights = len(weight_symbols)
        return GateCompiler(
            {q: i for i, q in enumerate(qubits)},
            {s: i for i, s in enumerate(input_symbols + weight_symbols)},
            self.n_inputs,
            self.n_weights,
        )

    def check_args(self, inputs, weights) -> tuple[tf.Tensor, tf.Tensor]:
        """``inputs`` (B, n_inputs) and ``weights`` (n_weights,) checked, in ``real_dtype``."""
        return check_run_args(inputs, weights, self.n_inputs, self.n_weights, self.real_dtype)

    def expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """⟨Z_k⟩ on every qubit: the representation read-out of the paper's Fig. 2.

        Args:
            inputs: (B, n_inputs) float, values of ``input_symbols``.
            weights: (n_weights,) float, values of ``weight_symbols``.

        Returns:
            (B, W) float32 (float64 for ``tf.complex128``), column k for ``qubits[k]``.
        """
        return self._expectation_z(*self.check_args(inputs, weights))

    def state(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Final statevectors, one per batch row.

        Args:
            inputs: (B, n_inputs) float, values of ``input_symbols``.
            weights: (n_weights,) float, values of ``weight_symbols``.

        Returns:
            (B, 2**W) complex of ``dtype``, big-endian: ``qubits[0]`` is the most
            significant bit, as in ``cirq.final_state_vector`` and ``tfq.layers.State``.
        """
        return self._state(*self.check_args(inputs, weights))

    @abc.abstractmethod
    def _expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """``expectation_z`` on checked arguments."""

    @abc.abstractmethod
    def _state(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """``state`` on checked arguments."""

