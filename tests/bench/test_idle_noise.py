"""bench.idle_noise's idle arm: the circuit scheduled with its waits as delays, nothing
else changed (the same gates, layout and measured qubits)."""

import numpy as np

from bench import idle_noise
from convert import execute
from convert.backends import get_backend
from convert.qiskit_circuits import representation_qiskit_circuit
from convert.transpile import transpile_for


def test_idle_delays_add_only_delays_and_keep_the_layout():
    backend = get_backend("fake_paris")
    rng = np.random.default_rng(0)
    circuit = representation_qiskit_circuit(4, 1, "ring", rng.uniform(0, np.pi, 4),
                                            rng.uniform(0, 2 * np.pi, 8))
    [isa] = [transpile_for(circuit, backend, 3, seed=0)]
    [idle] = idle_noise.with_idle_delays([isa], backend)
    ops = dict(idle.count_ops())
    assert ops.pop("delay") > 0
    assert ops == dict(isa.count_ops())
    assert execute.physical_qubits(idle) == execute.physical_qubits(isa)


def test_a_device_is_refused_before_anything_runs(capsys):
    assert idle_noise.main(["--backend", "ibm_fez"]) == 2
    assert "must be a fake backend" in capsys.readouterr().err
