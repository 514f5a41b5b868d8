"""⟨Z_k⟩ readout: exact statevector path and the Runtime Sampler on fake_paris."""

import cirq
import numpy as np
import pytest
from qiskit import QuantumCircuit

from convert.backends import get_backend
from convert.transpile import transpile_for
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


class _RecordingSampler:
    """Stands in for the Runtime Sampler: records its options and returns zeros."""

    made = []

    def __init__(self, mode):
        from qiskit_ibm_runtime.executor_sampler import Sampler
        self.options = Sampler(mode=mode).options
        _RecordingSampler.made.append(self)

    def run(self, pubs, shots):
        from qiskit.primitives import BitArray, DataBin, SamplerPubResult

        class _Job:
            def job_id(self):
                return "job-1"

            def result(self):
                return [SamplerPubResult(DataBin(meas=BitArray.from_bool_array(
                    np.zeros((shots, p.num_clbits), bool)))) for p in pubs]
        return _Job()


def test_error_suppression_options_reach_the_sampler(monkeypatch):
    import convert.execute as execute
    monkeypatch.setattr(execute, "Sampler", _RecordingSampler)
    _RecordingSampler.made.clear()
    circuit = representation_qiskit_circuit(2, 1, "ring", [0.1, 0.2], [0.3, 0.4, 0.5, 0.6])
    z = expectation_z([circuit], get_backend("fake_fez"), 10, seed=0,
                      errors=execute.ErrorOptions(dd="XY4", twirling=True))
    np.testing.assert_allclose(z, 1.0)
    [sampler] = _RecordingSampler.made
    assert sampler.options.dynamical_decoupling.enable is True
    assert sampler.options.dynamical_decoupling.sequence_type == "XY4"
    assert sampler.options.twirling.enable_gates is True
    assert sampler.options.twirling.enable_measure is True
    expectation_z([circuit], get_backend("fake_fez"), 10, seed=0)
    assert _RecordingSampler.made[-1].options.dynamical_decoupling.enable is False
    assert not _RecordingSampler.made[-1].options.twirling.enable_gates


def test_error_options_are_checked():
    import convert.execute as execute
    from tfq_ssl.errors import ConfigError
    with pytest.raises(ConfigError, match="dd must be one of"):
        execute.ErrorOptions(dd="XYZ")
    circuit = representation_qiskit_circuit(2, 1, "ring", [0.1, 0.2], [0.3, 0.4, 0.5, 0.6])
    with pytest.raises(ConfigError, match="statevector backend is exact"):
        expectation_z([circuit], get_backend("statevector"),
                      errors=execute.ErrorOptions(readout_mitigation=True))


@pytest.mark.slow
def test_readout_mitigation_brings_z_closer_to_the_exact_values():
    """Basis states: their exact ⟨Z_k⟩ are ±1, and what the device gets wrong is almost
    all readout (a few X gates); M3 removes most of it (figures for fake_paris, fake_fez
    and fake_miami in docs/results/device.md)."""
    import convert.execute as execute
    backend = get_backend("fake_paris")
    circuits = []
    for pattern in ((0, 0, 0), (1, 0, 1), (1, 1, 1), (0, 1, 0)):
        qc = QuantumCircuit(3)
        for k, bit in enumerate(pattern):
            if bit:
                qc.x(k)
        circuits.append(qc)
    exact = np.stack([execute.exact_expectation_z(c) for c in circuits])
    raw = expectation_z(circuits, backend, 4000, seed=3)
    mitigated = expectation_z(circuits, backend, 4000, seed=3,
                              errors=execute.ErrorOptions(readout_mitigation=True))
    raw_error, mitigated_error = np.abs(raw - exact).mean(), np.abs(mitigated - exact).mean()
    assert raw_error > 0.01  # the device has readout errors to correct
    assert mitigated_error < 0.5 * raw_error


def test_an_evaluation_calibrates_its_readout_once_and_reproducibly(monkeypatch):
    """Every job of an evaluation used to calibrate M3 again (36 calibrations for 900
    images); now the backend's qubits are calibrated once, seeded on a fake backend, and
    a job on qubits not yet calibrated calibrates them all."""
    import mthree
    import convert.execute as execute
    calibrated = []
    cals = mthree.M3Mitigation.cals_from_system
    monkeypatch.setattr(mthree.M3Mitigation, "cals_from_system",
                        lambda self, qubits, **kw: calibrated.append(list(qubits))
                        or cals(self, qubits, **kw))
    counts = [{"00": 60, "01": 30, "11": 10}]
    backend = get_backend("fake_paris")
    first = execute.mitigated_expectation_z(counts, [[0, 1]], backend, 1000, 2, seed=5)
    again = execute.mitigated_expectation_z(counts, [[1, 0]], backend, 1000, 2, seed=5)
    assert calibrated == [[0, 1]]  # qubits 0 and 1 again, in another order: no new calibration
    assert not np.allclose(first, again)  # each bit corrected with its own qubit's errors
    execute.mitigated_expectation_z(counts, [[1, 2]], backend, 1000, 2, seed=5)
    assert calibrated == [[0, 1], [0, 1, 2]]
    fresh = execute.mitigated_expectation_z(counts, [[0, 1]], get_backend("fake_paris"),
                                            1000, 2, seed=5)
    assert np.array_equal(fresh, first)  # seeded: another evaluation gets the same values


def test_a_seeded_fake_backend_gives_the_same_values_twice():
    """``seed`` seeds the local simulator: the same circuits give the same ⟨Z⟩ on every
    call. Aer's shot branching, used here before, drew differently each call whatever
    the seed (an 8-qubit ring on fake_paris differed by up to 0.4)."""
    backend = get_backend("fake_paris")
    angles, weights = _draws(8, 2, "ring", 2, seed=4)
    circuits = [representation_qiskit_circuit(8, 2, "ring", a, weights) for a in angles]
    first = expectation_z(circuits, backend, shots=100, seed=11)
    assert np.array_equal(first, expectation_z(circuits, backend, shots=100, seed=11))
    assert not np.array_equal(first, expectation_z(circuits, backend, shots=100, seed=12))
