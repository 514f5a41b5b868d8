"""Helpers shared by the tests of the project's engines (statevector, tensor network)."""

from __future__ import annotations

import tfq_ssl  # noqa: F401
import numpy as np
import tensorflow as tf
import tensorflow_quantum as tfq

from tests.helpers import finite_difference_gradients
from tfq_ssl.quantum import circuits


def representation_case(width: int, ansatz: str, form: str, layers: int = 2):
    """The representation circuit, with its CRX decomposed for ``form="decomposed"``."""
    circuit, qubits, xs, ws = circuits.representation_circuit(width, layers, ansatz)
    if form == "decomposed":
        circuit = circuits.decompose_controlled_rotations(circuit)
    return circuit, qubits, xs, ws


def random_values(width: int, n_weights: int, batch: int = 3, seed: int = 0):
    """Seeded input angles (batch, width) and weights (n_weights,) in float64."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(0, np.pi, (batch, width))
    weights = rng.uniform(-np.pi, np.pi, n_weights)
    return inputs, weights


def tfq_expectation(circuit, qubits, xs, ws, inputs, weights) -> np.ndarray:
    """⟨Z_k⟩ by TFQ's Expectation layer: the reference for the engines."""
    layer = tfq.layers.Expectation(differentiator=tfq.differentiators.Adjoint())
    values = np.concatenate([inputs, np.tile(weights, (len(inputs), 1))], axis=1)
    out = layer(
        tfq.convert_to_tensor([circuit] * len(inputs)),
        symbol_names=[str(s) for s in xs + ws],
        symbol_values=tf.constant(values, tf.float32),
        operators=circuits.readout_operators(qubits),
    )
    return out.numpy()


def loss_and_gradients(sim, inputs, weights, coefficients):
    """Autodiff gradients of Σ coefficients·⟨Z⟩ with respect to inputs and weights."""
    inputs, weights = tf.constant(inputs), tf.constant(weights)
    with tf.GradientTape() as tape:
        tape.watch([inputs, weights])
        loss = tf.reduce_sum(coefficients * sim.expectation_z(inputs, weights))
    return tape.gradient(loss, [inputs, weights])


def assert_gradients_match_finite_differences(sim, inputs, weights, coefficients):
    """Autodiff gradients of Σ coefficients·⟨Z⟩ against float64 central differences."""
    grad_inputs, grad_weights = loss_and_gradients(sim, inputs, weights, coefficients)

    def loss(x, w):
        return float(np.sum(coefficients * sim.expectation_z(x, w).numpy()))

    fd_inputs, fd_weights = finite_difference_gradients(loss, inputs, weights, eps=1e-6)
    np.testing.assert_allclose(grad_inputs.numpy(), fd_inputs, atol=1e-7)
    np.testing.assert_allclose(grad_weights.numpy(), fd_weights, atol=1e-7)
