"""Which executor make_executor picks for each combination of options."""

import tfq_ssl  # noqa: F401
import cirq
import pytest

from tfq_ssl.errors import ConfigError
from tfq_ssl.quantum import circuits
from tfq_ssl.quantum.executor import Executor
from tfq_ssl.quantum.factory import ENGINES, make_executor


@pytest.mark.parametrize(
    "options, name, decomposed",
    [
        (dict(), "TFQAdjoint", False),
        (dict(differentiator="parameter_shift"), "ExactParameterShift", False),
        (dict(differentiator="parameter_shift", shots=10), "TFQSampled", True),
        (dict(differentiator="parameter_shift", noise=0.01), "TFQSampled", True),
        (dict(engine="statevector"), "StatevectorSimulator", False),
        (dict(engine="statevector", differentiator="parameter_shift"), "StatevectorSimulator", True),
        (dict(engine="statevector", differentiator="parameter_shift", shots=10),
         "SampledExpectationZ", True),
        (dict(engine="tensornet"), "TensorNetworkSimulator", False),
        (dict(engine="tensornet", differentiator="parameter_shift"), "TensorNetworkSimulator", False),
    ],
)
def test_factory_picks_one_executor_per_combination(options, name, decomposed):
    circuit, qubits, xs, ws = circuits.representation_circuit(3, 1)
    executor = make_executor(circuit, qubits, xs, ws, layers=1, **options)
    assert isinstance(executor, Executor)
    assert type(executor).__name__ == name
    crx = circuits.decompose_controlled_rotations(circuit)
    executed = executor.circuit
    if options.get("noise"):
        channels = [op for op in executed.all_operations()
                    if isinstance(op.gate, cirq.DepolarizingChannel)]
        assert channels and executed != crx
    else:
        assert executed == (crx if decomposed else circuit)


def test_engines_are_the_three_documented_ones():
    assert ENGINES == ("tfq", "statevector", "tensornet")


def test_factory_rejects_unknown_ansatz_without_building():
    circuit, qubits, xs, ws = circuits.representation_circuit(2, 1)
    with pytest.raises(ValueError, match="ansatz must be one of"):
        make_executor(circuit, qubits, xs, ws, layers=1, ansatz="ladder")


def test_factory_refuses_a_tensornet_ring_deeper_than_three_layers():
    circuit, qubits, xs, ws = circuits.representation_circuit(3, 4)
    with pytest.raises(ConfigError, match="at most layers=3.*got layers=4"):
        make_executor(circuit, qubits, xs, ws, layers=4, engine="tensornet")
    # Other engines simulate the full state: any depth.
    assert type(make_executor(circuit, qubits, xs, ws, layers=4, engine="statevector")).__name__ \
        == "StatevectorSimulator"
