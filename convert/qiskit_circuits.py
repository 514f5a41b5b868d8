"""Cirq → Qiskit translation of resolved representation circuits.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 4.4: a
trained representation network is run on IBM hardware one image at a time, so each
image's circuit is the representation circuit with that image's input angles and the
trained ansatz weights bound to numbers.

The translation goes gate by gate through a table (as TFQ's serializer does) and
refuses anything it does not know, so a silent change of convention cannot slip in.
Qubit ``i`` of the Cirq qubit list becomes Qiskit qubit ``i``; Qiskit orders basis
states little-endian, so ``Statevector(qc).reverse_qargs()`` equals Cirq's
``final_state_vector`` (big-endian).
"""

from __future__ import annotations

from typing import Callable, Sequence

import cirq
import numpy as np
import qiskit
import qiskit.qasm3
from qiskit import qpy

from tfq_ssl.quantum.circuits import bind, representation_circuit

SUPPORTED_GATES = (
    "Rx, Ry, Rz, XPowGate/YPowGate/ZPowGate (any exponent), H, CZPowGate (any exponent), "
    "CNOT, SWAP, identity, global phase, and Rx/Ry/Rz/X/Y/Z controlled by one qubit in |1⟩"
)


def resolve_circuit(
    width: int,
    layers: int,
    ansatz: str,
    angles: np.ndarray,
    weights: np.ndarray,
) -> cirq.Circuit:
    """Bind one image's input angles and the trained ansatz weights.

    Values are mapped to symbols by name (``x_03``, ``theta_017``), never by the
    position a tool sorted them into.

    Args:
        width: number of qubits W.
        layers: ansatz layers L.
        ansatz: ``"ring"``, ``"ring_product"`` or ``"all_to_all"``.
        angles: input angles of one image. Shape: ``(W,)``.
        weights: trained ansatz weights in symbol-index order. Shape: ``(n_weights,)``.

    Returns:
        The representation circuit with every parameter resolved; its qubits are
        ``cirq.LineQubit.range(width)``.

    Raises:
        ValueError: a shape does not match the circuit or a value is not finite.
    """
    circuit, _, input_symbols, weight_symbols = representation_circuit(width, layers, ansatz)
    return bind(circuit, input_symbols, weight_symbols, angles, weights,
                f"{ansatz!r} with W={width}, L={layers}")


def _value(x: object, op: cirq.Operation) -> float:
    if cirq.is_parameterized(x):
        raise ValueError(
            f"unresolved parameter(s) {sorted(cirq.parameter_names(x))} in {op!r}; "
            "bind every symbol first, e.g. with resolve_circuit()."
        )
    return float(x)


def _pow_gate(name: str) -> Callable:
    """A rotation-family PowGate ``G^t`` with global shift ``s``.

    ``XPowGate(t, s) = e^{iπt(s+1/2)} Rx(πt)`` (same for Y, Z), so exponent 1 with
    shift 0 is the plain Pauli; anything else becomes the rotation plus a global phase.
    """

    def emit(qc: qiskit.QuantumCircuit, gate: cirq.EigenGate, qs: list[int], op) -> None:
        t = _value(gate.exponent, op)
        s = gate.global_shift
        if t == 1:
            getattr(qc, name)(*qs)
            qc.global_phase += np.pi * s
        else:
            getattr(qc, "r" + name)(np.pi * t, *qs)
            qc.global_phase += np.pi * t * (s + 0.5)

    return emit


def _rotation(name: str) -> Callable:
    def emit(qc: qiskit.QuantumCircuit, gate: cirq.EigenGate, qs: list[int], op) -> None:
        # cirq.Rx(θ) = exp(-iθX/2) exactly (global shift -1/2), as is Qiskit's rx(θ).
        getattr(qc, name)(np.pi * _value(gate.exponent, op), *qs)

    return emit


def _exact_power(name: str) -> Callable:
    def emit(qc: qiskit.QuantumCircuit, gate: cirq.EigenGate, qs: list[int], op) -> None:
        if _value(gate.exponent, op) != 1:
            raise ValueError(f"{op!r}: only exponent 1 of {type(gate).__name__} is supported.")
        getattr(qc, name)(*qs)
        qc.global_phase += np.pi * gate.global_shift

    return emit


def _cz(qc: qiskit.QuantumCircuit, gate: cirq.CZPowGate, qs: list[int], op) -> None:
    t = _value(gate.exponent, op)
    if t == 1:
        qc.cz(*qs)
    else:
        qc.cp(np.pi * t, *qs)  # CZ^t = diag(1, 1, 1, e^{iπt})
    qc.global_phase += np.pi * t * gate.global_shift


def _global_phase(qc: qiskit.QuantumCircuit, gate: cirq.GlobalPhaseGate, qs, op) -> None:
    if cirq.is_parameterized(gate):
        _value(gate.coefficient, op)
    qc.global_phase += float(np.angle(complex(gate.coefficient)))


# Looked up along the type's MRO: cirq.Rx subclasses XPowGate, cirq.X is a _PauliX, etc.
_GATE_TABLE: dict[type, Callable] = {
    cirq.Rx: _rotation("rx"),
    cirq.Ry: _rotation("ry"),
    cirq.Rz: _rotation("rz"),
    cirq.XPowGate: _pow_gate("x"),
    cirq.YPowGate: _pow_gate("y"),
    cirq.ZPowGate: _pow_gate("z"),
    cirq.HPowGate: _exact_power("h"),
    cirq.CXPowGate: _exact_power("cx"),
    cirq.SwapPowGate: _exact_power("swap"),
    cirq.CZPowGate: _cz,
    cirq.IdentityGate: lambda qc, gate, qs, op: None,
    cirq.GlobalPhaseGate: _global_phase,
}

# Singly controlled sub-gates → Qiskit method.
_CONTROLLED_ROTATIONS = {cirq.Rx: "crx", cirq.Ry: "cry", cirq.Rz: "crz"}
_CONTROLLED_PAULIS = {cirq.XPowGate: "cx", cirq.YPowGate: "cy", cirq.ZPowGate: "cz"}


def _lookup(table: dict, gate: object):
    return next((table[t] for t in type(gate).__mro__ if t in table), None)


def _controlled(op: cirq.Operation) -> tuple[cirq.Gate, cirq.Qid, cirq.Qid] | None:
    """``(sub_gate, control, target)`` for a singly controlled 1-qubit gate on |1⟩."""
    if isinstance(op, cirq.ControlledOperation):
        sub_gate, controls, values = op.sub_operation.gate, op.controls, op.control_values
        targets = op.sub_operation.qubits
    elif isinstance(op.gate, cirq.ControlledGate):
        n = op.gate.num_controls()
        sub_gate, controls, values = op.gate.sub_gate, op.qubits[:n], op.gate.control_values
        targets = op.qubits[n:]
    else:
        return None
    if len(controls) != 1 or len(targets) != 1 or values != cirq.ProductOfSums(((1,),)):
        return None
    return sub_gate, controls[0], targets[0]


def _emit_controlled(qc: qiskit.QuantumCircuit, op: cirq.Operation, index: dict) -> bool:
    found = _controlled(op)
    if found is None:
        return False
    sub_gate, control, target = found
    qs = [index[control], index[target]]
    rotation = _lookup(_CONTROLLED_ROTATIONS, sub_gate)
    pauli = _lookup(_CONTROLLED_PAULIS, sub_gate)
    if rotation is not None:
        getattr(qc, rotation)(np.pi * _value(sub_gate.exponent, op), *qs)
        return True
    # A controlled global shift is a relative phase, so only plain Paulis qualify.
    if pauli is not None and _value(sub_gate.exponent, op) == 1 and sub_gate.global_shift == 0:
        getattr(qc, pauli)(*qs)
        return True
    raise ValueError(f"unsupported controlled gate {op!r}; supported: {SUPPORTED_GATES}.")


def cirq_to_qiskit(
    circuit: cirq.Circuit, qubits: Sequence[cirq.Qid] | None = None
) -> qiskit.QuantumCircuit:
    """Translate a resolved Cirq circuit gate by gate.

    Args:
        circuit: a circuit whose parameters are all resolved.
        qubits: Cirq qubit order; qubit ``i`` becomes Qiskit qubit ``i``. Defaults to
            ``sorted(circuit.all_qubits())``.

    Returns:
        The equivalent ``QuantumCircuit`` (global phase included), without measurements.

    Raises:
        ValueError: a gate is not in the table, a parameter is unresolved, or an
            operation acts on a qubit outside ``qubits``.
    """
    qubits = sorted(circuit.all_qubits()) if qubits is None else list(qubits)
    index = {q: i for i, q in enumerate(qubits)}
    missing = sorted(circuit.all_qubits() - set(index), key=str)
    if missing:
        raise ValueError(f"circuit acts on qubits {missing} that are not in qubits={qubits}.")
    qc = qiskit.QuantumCircuit(len(qubits))
    for op in circuit.all_operations():
        op = op.untagged
        qs = [index[q] for q in op.qubits]
        if _emit_controlled(qc, op, index):
            continue
        emit = _lookup(_GATE_TABLE, op.gate)
        if emit is None:
            raise ValueError(
                f"unsupported gate {op.gate!r} in operation {op!r}; supported: {SUPPORTED_GATES}."
            )
        emit(qc, op.gate, qs, op)
    return qc


def representation_qiskit_circuit(
    width: int, layers: int, ansatz: str, angles: np.ndarray, weights: np.ndarray,
    symbolic: tuple | None = None,
) -> qiskit.QuantumCircuit:
    """One image's representation circuit, bound and in Qiskit (no measurement).

    Args:
        width, layers, ansatz: the circuit, W, L and the ansatz.
        angles, weights: one image's input angles and the trained weights.
        symbolic: ``(circuit, qubits, input_symbols, weight_symbols)`` of the model's
            own layer (``QuantumRepresentation.symbolic``), bound as it is; default:
            the circuit :func:`representation_circuit` builds from ``width``, ``layers``
            and ``ansatz`` (the same circuit for a layer of those settings).
    """
    circuit, qubits, input_symbols, weight_symbols = (
        symbolic or representation_circuit(width, layers, ansatz))
    if len(qubits) != width:
        raise ValueError(f"the circuit has {len(qubits)} qubits; width is {width}.")
    return cirq_to_qiskit(bind(circuit, input_symbols, weight_symbols, angles, weights,
                               f"{ansatz!r} with W={width}, L={layers}"), qubits)


def save_qpy(circuits: Sequence[qiskit.QuantumCircuit], path: str) -> None:
    """Write circuits to a QPY file (Qiskit's lossless binary format).

    Args:
        circuits: circuits to store, in order.
        path: output file.
    """
    with open(path, "wb") as f:
        qpy.dump(list(circuits), f)


def load_qpy(path: str) -> list[qiskit.QuantumCircuit]:
    """Read the circuits written by :func:`save_qpy`."""
    with open(path, "rb") as f:
        return list(qpy.load(f))


def to_qasm3(circuit: qiskit.QuantumCircuit) -> str:
    """OpenQASM 3 text of a circuit (``qiskit.qasm3.dumps``)."""
    return qiskit.qasm3.dumps(circuit)
