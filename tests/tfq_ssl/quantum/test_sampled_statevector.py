"""Tests of tfq_ssl.quantum.sampled_statevector (the layer-level statistics are in
test_layer.py: binomial estimates, unbiased sampled gradients)."""

import tfq_ssl  # noqa: F401
import numpy as np
import pytest
import tensorflow as tf

from tfq_ssl.quantum import circuits
from tfq_ssl.quantum.sampled_statevector import StatevectorSampled


def test_statevector_sampler_chunks_and_rejects_controlled_rotations():
    circuit, qubits, xs, ws = circuits.representation_circuit(3, 1)
    decomposed = circuits.decompose_controlled_rotations(circuit)
    whole = StatevectorSampled(decomposed, qubits, xs, ws, shots=10)
    chunked = StatevectorSampled(decomposed, qubits, xs, ws, shots=10, amplitude_budget=400)
    # 3 RX inputs + 3 RY + 2 x 3 half-angle RX, each shifted both ways; 10 per chunk
    assert whole.num_shifted_circuits == 2 * (3 + 3 + 6)
    x = tf.constant(np.random.default_rng(0).uniform(0, np.pi, (5, 3)), tf.float32)
    w = tf.constant(np.random.default_rng(1).normal(size=len(ws)), tf.float32)
    np.testing.assert_allclose(chunked.shifted_expectations(x, w).numpy(),
                               whole.shifted_expectations(x, w).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="decompose_controlled_rotations"):
        StatevectorSampled(circuit, qubits, xs, ws, shots=10)


def test_accepts_numpy_integer_shots_and_rejects_bad_ones():
    circuit, qubits, xs, ws = circuits.representation_circuit(2, 1)
    decomposed = circuits.decompose_controlled_rotations(circuit)
    assert StatevectorSampled(decomposed, qubits, xs, ws, shots=np.int64(7)).shots == 7
    for shots in (0, True, 2.0):
        with pytest.raises(ValueError, match="shots must be an integer >= 1"):
            StatevectorSampled(decomposed, qubits, xs, ws, shots=shots)
