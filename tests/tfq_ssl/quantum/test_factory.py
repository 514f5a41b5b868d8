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
        (dict(differentiator="parameter_shift"), "TFQParameterShift", False),
        (dict(differentiator="parameter_shift", shots=10), "TFQSampled", True),
        (dict(differentiator="parameter_shift", noise=0.01), "TFQSampled", True),
        (dict(engine="statevector"), "StatevectorAutodiff", False),
        (dict(engine="statevector", differentiator="parameter_shift"), "StatevectorAutodiff", True),
        (dict(engine="statevector", differentiator="parameter_shift", shots=10),
         "StatevectorSampled", True),
        (dict(engine="tensornet"), "TensorNetworkAutodiff", False),
        (dict(engine="tensornet", differentiator="parameter_shift"), "TensorNetworkAutodiff", False),
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
        == "StatevectorAutodiff"


@pytest.mark.parametrize("options", [dict(shots=10, differentiator="adjoint"),
                                     dict(noise=0.01, differentiator="adjoint")])
def test_differentiator_refusals_point_to_the_table_of_what_each_engine_computes(options):
    from tfq_ssl.quantum.options import check_options

    settings = dict(ansatz="ring", differentiator="adjoint", shots=None, engine="tfq",
                    noise=0.0, layers=2)
    with pytest.raises(ConfigError, match=r"table in tfq_ssl/quantum/options\.py"):
        check_options(**{**settings, **options})
