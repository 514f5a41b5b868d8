"""Transpilation, gate statistics and per-image recompilation."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from convert.backends import get_backend
from convert.transpile import (
    _best_unitary,
    chain_layout,
    compile_for_device,
    gate_stats,
    recompile,
    transpile_for,
)
from convert.qiskit_circuits import representation_qiskit_circuit
from tfq_ssl.errors import ConfigError

PARIS = get_backend("fake_paris")


def _ring(width, seed):
    rng = np.random.default_rng(seed)
    angles, weights = rng.uniform(0, np.pi, width), rng.uniform(0, 2 * np.pi, 4 * width)
    return representation_qiskit_circuit(width, 2, "ring", angles, weights)


def _overlap(a, b):
    return abs(np.vdot(Statevector(a).data, Statevector(b).data)) ** 2


def test_gate_stats():
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.barrier()
    qc.crx(0.3, 1, 2)
    qc.rz(0.1, 2)
    assert gate_stats(qc) == {"two_qubit": 2, "depth": 4, "size": 4}


def test_transpile_for_keeps_initial_layout():
    isa = transpile_for(_ring(3, 0), PARIS, seed=1, initial_layout=[0, 1, 4])
    assert isa.layout.initial_index_layout(filter_ancillas=True) == [0, 1, 4]
    assert set(isa.count_ops()) <= set(PARIS.operation_names)


def test_chain_layout_is_a_coupled_chain():
    chain = chain_layout(PARIS, 8)
    edges = {tuple(sorted(e)) for e in PARIS.coupling_map.get_edges()}
    assert len(set(chain)) == 8
    assert all(tuple(sorted(p)) in edges for p in zip(chain, chain[1:]))
    assert chain_layout(get_backend("statevector"), 5) == [0, 1, 2, 3, 4]


def test_a_device_too_small_for_the_run_is_a_user_error():
    with pytest.raises(ConfigError, match="'fake_manila' has no chain of 8 coupled qubits"):
        chain_layout(get_backend("fake_manila"), 8)


def test_best_unitary_is_the_polar_optimum():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
        u = _best_unitary(m)
        np.testing.assert_allclose(u.conj().T @ u, np.eye(2), atol=1e-12)
        assert abs(np.trace(u @ m)) == pytest.approx(np.linalg.svd(m, compute_uv=False).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_recompile_reaches_target_with_fewer_two_qubit_gates(seed):
    circuit = _ring(4, seed)
    level3 = gate_stats(transpile_for(circuit, PARIS, seed=1))["two_qubit"]
    found = recompile(circuit, PARIS, target_overlap=0.99)
    assert found.converged and found.overlap >= 0.99
    assert _overlap(circuit, found.circuit) == pytest.approx(found.overlap, abs=1e-9)
    isa = transpile_for(found.circuit, PARIS, seed=1, initial_layout=found.initial_layout)
    assert isa.layout.final_index_layout() == found.initial_layout  # no routing
    assert gate_stats(isa)["two_qubit"] <= found.two_qubit < level3


def test_recompile_small_widths_are_exact():
    one = QuantumCircuit(1)
    one.rx(0.4, 0)
    assert recompile(one, PARIS).two_qubit == 0
    assert recompile(one, PARIS).overlap == pytest.approx(1.0)
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    found = recompile(bell, get_backend("statevector"))
    assert found.two_qubit == 1 and found.overlap == pytest.approx(1.0)


def test_recompile_rejects_uncoupled_layout():
    with pytest.raises(ValueError, match="chain of 3 coupled physical qubits"):
        recompile(_ring(3, 0), PARIS, initial_layout=[0, 1, 3])  # 0-1 coupled, 1-3 not


def test_compile_for_device_reports_and_falls_back():
    circuit = _ring(4, 0)
    isa, report = compile_for_device(circuit, PARIS, recompile_circuit=True, seed=1)
    assert report.used == "recompiled" and report.overlap >= 0.99
    assert report.recompiled["two_qubit"] < report.level3["two_qubit"]
    assert report.logical == gate_stats(circuit) and isa.layout is not None
    _, fallback = compile_for_device(
        circuit, PARIS, recompile_circuit=True, seed=1, max_two_qubit=1
    )
    assert fallback.used == "level3" and fallback.overlap == 1.0
    plain, exact = compile_for_device(circuit, get_backend("statevector"))
    assert plain is circuit and exact.used == "logical" and exact.level3 is None
