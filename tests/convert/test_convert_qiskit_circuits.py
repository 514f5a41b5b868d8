"""Cirq → Qiskit converter: statevector fidelity, gate conventions, errors, exports."""

import cirq
import numpy as np
import pytest
import sympy
from qiskit.quantum_info import Statevector

from convert.qiskit_circuits import (
    cirq_to_qiskit,
    load_qpy,
    representation_qiskit_circuit,
    resolve_circuit,
    save_qpy,
    to_qasm3,
)
from tfq_ssl.quantum.circuits import representation_circuit


def _cirq_state(circuit, qubits):
    return cirq.final_state_vector(circuit, qubit_order=qubits, dtype=np.complex128)


def _qiskit_state(qc):
    return Statevector(qc).reverse_qargs().data  # big-endian, as Cirq


def _n_weights(width, layers, ansatz):
    return len(representation_circuit(width, layers, ansatz)[3])


@pytest.mark.parametrize("ansatz", ["ring", "ring_product", "all_to_all"])
@pytest.mark.parametrize("width,layers,draws", [(4, 2, 50), (8, 2, 3)])
def test_converted_state_matches_cirq(ansatz, width, layers, draws):
    rng = np.random.default_rng(width * 10 + layers)
    qubits = cirq.LineQubit.range(width)
    worst = 1.0
    for _ in range(draws):
        angles = rng.uniform(0, np.pi, width)
        weights = rng.uniform(-2 * np.pi, 2 * np.pi, _n_weights(width, layers, ansatz))
        circuit = resolve_circuit(width, layers, ansatz, angles, weights)
        reference = _cirq_state(circuit, qubits)
        converted = _qiskit_state(cirq_to_qiskit(circuit, qubits))
        worst = min(worst, abs(np.vdot(reference, converted)) ** 2)
        np.testing.assert_allclose(converted, reference, atol=1e-9)  # global phase too
    assert worst >= 1 - 1e-9


def test_resolve_maps_values_by_symbol_name():
    width, layers = 3, 1
    circuit, _, xs, ws = representation_circuit(width, layers, "ring")
    angles, weights = np.arange(width) * 0.1 + 0.05, np.arange(len(ws)) * 0.2 + 0.3
    resolver = {s.name: v for s, v in zip(xs + ws, np.concatenate([angles, weights]))}
    expected = cirq.resolve_parameters(circuit, resolver)
    assert resolve_circuit(width, layers, "ring", angles, weights) == expected


@pytest.mark.parametrize(
    "gate",
    [cirq.X, cirq.Y, cirq.Z, cirq.H, cirq.S, cirq.T, cirq.X**0.3, cirq.Y**1.7,
     cirq.XPowGate(exponent=1, global_shift=0.3), cirq.ZPowGate(exponent=0.4, global_shift=-0.2)],
)  # fmt: skip
def test_single_qubit_pow_gate_conventions(gate):
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(a), cirq.ry(0.7)(b), gate(a))
    converted = _qiskit_state(cirq_to_qiskit(circuit))
    np.testing.assert_allclose(converted, _cirq_state(circuit, [a, b]), atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [lambda a, b: cirq.CZ(a, b), lambda a, b: cirq.CZ(a, b) ** 0.3, lambda a, b: cirq.CNOT(b, a),
     lambda a, b: cirq.SWAP(a, b), lambda a, b: cirq.ry(0.3).on(b).controlled_by(a),
     lambda a, b: cirq.rz(1.3).on(a).controlled_by(b), lambda a, b: cirq.X(b).controlled_by(a),
     lambda a, b: cirq.ControlledGate(cirq.rx(0.7)).on(a, b),
     lambda a, b: cirq.global_phase_operation(1j),
     lambda a, b: cirq.CZPowGate(exponent=1, global_shift=0.25)(a, b)],
)  # fmt: skip
def test_two_qubit_gate_conventions(make):
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.rx(0.4)(a), cirq.ry(1.1)(b), cirq.rz(0.2)(a), make(a, b))
    converted = cirq_to_qiskit(circuit, [a, b])
    np.testing.assert_allclose(_qiskit_state(converted), _cirq_state(circuit, [a, b]), atol=1e-12)


@pytest.mark.parametrize(
    "op,name",
    [(cirq.ISWAP(*cirq.LineQubit.range(2)), "ISWAP"), (cirq.CCZ(*cirq.LineQubit.range(3)), "CCZ"),
     (cirq.X(cirq.LineQubit(1)).controlled_by(cirq.LineQubit(0), control_values=[0]),
      "ControlledGate"),
     (cirq.CNOT(*cirq.LineQubit.range(2)) ** 0.5, "CXPowGate")],
)  # fmt: skip
def test_unknown_gate_raises_naming_it(op, name):
    with pytest.raises(ValueError, match=name):
        cirq_to_qiskit(cirq.Circuit(op))


def test_unresolved_parameter_raises_naming_it():
    circuit, qubits, _, _ = representation_circuit(2, 1, "ring")
    with pytest.raises(ValueError, match=r"unresolved parameter.*x_00"):
        cirq_to_qiskit(circuit, qubits)


def test_resolve_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"weights must have shape \(16,\)"):
        resolve_circuit(4, 2, "ring", np.zeros(4), np.zeros(15))
    with pytest.raises(ValueError, match=r"angles must have shape \(4,\)"):
        resolve_circuit(4, 2, "ring", np.zeros(3), np.zeros(16))


def test_qpy_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    circuits = []
    for ansatz in ("ring", "all_to_all"):
        angles, weights = rng.uniform(0, np.pi, 4), rng.uniform(0, 6, _n_weights(4, 2, ansatz))
        circuits.append(representation_qiskit_circuit(4, 2, ansatz, angles, weights))
    path = tmp_path / "circuits.qpy"
    save_qpy(circuits, str(path))
    loaded = load_qpy(str(path))
    assert loaded == circuits
    for a, b in zip(circuits, loaded):
        np.testing.assert_allclose(Statevector(a).data, Statevector(b).data, atol=1e-12)


def test_qasm3_export_contains_the_gates():
    text = to_qasm3(representation_qiskit_circuit(3, 1, "ring", np.full(3, 0.5), np.full(6, 0.25)))
    assert text.startswith("OPENQASM 3")
    for gate in ("rx(0.5)", "ry(0.25)", "crx(0.25)"):
        assert gate in text
    assert "x_0" not in text and "theta" not in text  # fully bound


def test_symbolic_exponent_is_unresolved_parameter():
    a = cirq.LineQubit(0)
    with pytest.raises(ValueError, match="theta"):
        cirq_to_qiskit(cirq.Circuit(cirq.X(a) ** sympy.Symbol("theta")))


def test_the_converter_binds_the_layers_own_circuit():
    """Given a layer's circuit, the converter binds that circuit, not one rebuilt from
    (W, L, ansatz): the converted state is the layer's own output state, and a circuit
    that differs from the rebuilt one (a product ansatz passed as 'ring') is what runs."""
    from tfq_ssl.quantum.layer import QuantumRepresentation

    layer = QuantumRepresentation(3, 2, ansatz="ring", engine="statevector")
    layer.build((None, 3))
    rng = np.random.default_rng(4)
    layer.ansatz_weights.assign(rng.uniform(-np.pi, np.pi, layer.ansatz_weights.shape))
    angles = rng.uniform(0, np.pi, 3)
    weights = layer.ansatz_weights.numpy()
    own = _qiskit_state(representation_qiskit_circuit(3, 2, "ring", angles, weights, layer.symbolic))
    np.testing.assert_allclose(own, layer.statevectors(angles[None].astype(np.float32))[0], atol=1e-5)

    other = representation_circuit(3, 2, "ring_product")
    converted = _qiskit_state(representation_qiskit_circuit(3, 2, "ring", angles, weights, other))
    expected = _cirq_state(resolve_circuit(3, 2, "ring_product", angles, weights), other[1])
    np.testing.assert_allclose(converted, expected, atol=1e-9)
    assert abs(np.vdot(converted, own)) ** 2 < 0.99
