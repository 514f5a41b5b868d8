import tfq_ssl  # noqa: F401
import cirq
import numpy as np
import pytest

from tfq_ssl.quantum import circuits


def _random_resolver(symbols, seed=0):
    rng = np.random.default_rng(seed)
    return cirq.ParamResolver({s: rng.uniform(-np.pi, np.pi) for s in symbols})


@pytest.mark.parametrize("width,layers,expected", [(8, 2, 32), (4, 1, 8), (2, 3, 12), (1, 2, 2)])
def test_ring_parameter_count(width, layers, expected):
    _, symbols = circuits.ring_ansatz(cirq.LineQubit.range(width), layers)
    assert len(symbols) == expected


@pytest.mark.parametrize("width,layers,expected", [(8, 3, 32), (4, 1, 8), (1, 1, 2)])
def test_all_to_all_parameter_count(width, layers, expected):
    _, symbols = circuits.all_to_all_ansatz(cirq.LineQubit.range(width), layers)
    assert len(symbols) == expected


def test_symbol_string_order_equals_index_order():
    _, symbols = circuits.ring_ansatz(cirq.LineQubit.range(8), 2)
    names = [str(s) for s in symbols]
    assert names == sorted(names)
    assert names[0] == "theta_00" and names[-1] == "theta_31"
    _, inputs = circuits.data_loading(cirq.LineQubit.range(12))
    assert [str(s) for s in inputs] == sorted(str(s) for s in inputs)


def test_ring_gate_order():
    qubits = cirq.LineQubit.range(3)
    circuit, symbols = circuits.ring_ansatz(qubits, 1)
    ops = list(circuit.all_operations())
    assert [op.gate for op in ops[:3]] == [cirq.ry(s) for s in symbols[:3]]
    controlled = [op for op in ops if isinstance(op, cirq.ControlledOperation)]
    pairs = [(op.controls[0], op.sub_operation.qubits[0]) for op in controlled]
    assert pairs == [(qubits[0], qubits[1]), (qubits[1], qubits[2]), (qubits[2], qubits[0])]
    assert [op.sub_operation.gate for op in controlled] == [cirq.rx(s) for s in symbols[3:]]


def test_all_to_all_cnot_pairs():
    qubits = cirq.LineQubit.range(4)
    circuit, _ = circuits.all_to_all_ansatz(qubits, 1)
    cnots = [op.qubits for op in circuit.all_operations() if op.gate == cirq.CNOT]
    assert cnots == [(qubits[i], qubits[j]) for i in range(4) for j in range(i + 1, 4)]


@pytest.mark.parametrize("ansatz", circuits.ANSATZE)
def test_decomposition_preserves_unitary(ansatz):
    circuit, _, inputs, weights = circuits.representation_circuit(4, 2, ansatz)
    decomposed = circuits.decompose_controlled_rotations(circuit)
    assert not any(isinstance(op, cirq.ControlledOperation) for op in decomposed.all_operations())
    resolver = _random_resolver(inputs + weights)
    np.testing.assert_allclose(
        cirq.unitary(cirq.resolve_parameters(decomposed, resolver)),
        cirq.unitary(cirq.resolve_parameters(circuit, resolver)),
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(width=0, layers=1), "width"),
        (dict(width=2, layers=0), "layers"),
        (dict(width=2, layers=1.5), "layers"),
        (dict(width=2, layers=1, ansatz="star"), "ansatz"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        circuits.representation_circuit(**kwargs)


def test_empty_qubits():
    with pytest.raises(ValueError, match="qubits"):
        circuits.ring_ansatz([], 1)
