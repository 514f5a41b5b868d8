"""⟨Z_k⟩ readout: exact statevector path and the Runtime Sampler on fake_paris."""

import cirq
import numpy as np
import pytest
from qiskit import QuantumCircuit

from convert.backends import get_backend
from convert.compile import transpile_for
from convert.execute import expectation_z, measure_logical_qubits
from convert.qiskit_circuits import representation_qiskit_circuit, resolve_circuit
from tfq_ssl.quantum.circuits import representation_circuit


def _exact_cirq(width, layers, ansatz, angles, weights):
    circuit = resolve_circuit(width, layers, ansatz, angles, weights)
    qubits = cirq.LineQubit.range(width)
    sim = cirq.Simulator(dtype=np.complex128)
    return np.real(sim.simulate_expectation_values(circuit, [cirq.Z(q) for q in qubits]))


def _draws(width, layers, ansatz, n, seed):
    rng = np.random.default_rng(seed)
    n_weights = len(representation_circuit(width, layers, ansatz)[3])
    return rng.uniform(0, np.pi, (n, width)), rng.uniform(0, 2 * np.pi, n_weights)


@pytest.mark.parametrize("ansatz", ["ring", "all_to_all"])
def test_statevector_matches_cirq(ansatz):
    angles, weights = _draws(4, 2, ansatz, 5, seed=1)
    circuits = [representation_qiskit_circuit(4, 2, ansatz, a, weights) for a in angles]
    got = expectation_z(circuits, get_backend("statevector"))
    expected = np.stack([_exact_cirq(4, 2, ansatz, a, weights) for a in angles])
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_bit_order_survives_routing_on_fake_backend():
    # A classical permutation circuit whose K4 coupling forces routing on heavy-hex:
    # |1000⟩ → |1001⟩, so ⟨Z⟩ = (-1, 1, 1, -1) whatever the final layout.
    qc = QuantumCircuit(4)
    qc.x(0)
    for control, target in [(0, 1), (0, 2), (0, 3), (1, 2), (2, 3), (3, 1)]:
        qc.cx(control, target)
    backend = get_backend("fake_paris")
    isa = transpile_for(qc, backend, seed=3)
    layout = isa.layout
    assert layout.final_index_layout() != layout.initial_index_layout(filter_ancillas=True)
    for circuit in (qc, isa):  # transpiled inside, or as given
        got = expectation_z([circuit], backend, shots=200, seed=3)
        np.testing.assert_allclose(got, [[-1, 1, 1, -1]], atol=0.3)


def test_measurement_follows_the_final_layout():
    qc = QuantumCircuit(2)
    qc.x(1)
    isa = transpile_for(qc, get_backend("fake_paris"), initial_layout=[5, 8])
    measured = measure_logical_qubits(isa)
    measures = [i for i in measured.data if i.operation.name == "measure"]
    targets = [measured.find_bit(i.qubits[0]).index for i in measures]
    assert targets == [5, 8]


def test_fake_paris_close_to_exact():
    angles, weights = _draws(4, 2, "ring", 3, seed=2)
    circuits = [representation_qiskit_circuit(4, 2, "ring", a, weights) for a in angles]
    got = expectation_z(circuits, get_backend("fake_paris"), shots=1000, seed=7)
    expected = np.stack([_exact_cirq(4, 2, "ring", a, weights) for a in angles])
    # 1000 shots: σ ≤ 0.032 per value; the noise model (≈25 CNOTs) adds a damping bias.
    assert np.abs(got - expected).max() < 0.3
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.8


def test_rejects_bad_shots_and_mixed_widths():
    backend = get_backend("fake_paris")
    with pytest.raises(ValueError, match="shots must be an integer >= 1"):
        expectation_z([QuantumCircuit(2)], backend, shots=0)
    with pytest.raises(ValueError, match="same logical width"):
        expectation_z([QuantumCircuit(2), QuantumCircuit(3)], backend)
