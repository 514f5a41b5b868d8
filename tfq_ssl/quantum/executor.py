"""The one interface every way of running the representation circuit implements.

An executor runs one parameterised circuit of the representation network
(Jaderberg et al., "Quantum Self-Supervised Learning", Sec. 3.2, Fig. 2): per-row
input angles (the data loading) and weights shared by the batch (the ansatz) in,
⟨Z_k⟩ on every qubit out, differentiable with respect to both. The Keras layer
(:class:`tfq_ssl.quantum.layer.QuantumRepresentation`) holds the weights and
delegates to one executor, chosen by :func:`tfq_ssl.quantum.factory.make_executor`.
"""

from __future__ import annotations

import abc

import cirq
import tensorflow as tf

__all__ = ["Executor"]


class Executor(abc.ABC):
    """Runs one circuit: ⟨Z_k⟩ with gradients, and exact output states.

    Attributes:
        circuit: the circuit as executed (controlled rotations decomposed or noise
            channels added where the executor needs them).
    """

    circuit: cirq.AbstractCircuit

    @abc.abstractmethod
    def expectation_z(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """⟨Z_k⟩ of every qubit (exact, sampled or noisy, as the executor runs).

        Args:
            angles: ``(batch, n_inputs)`` float values of the input symbols.
            weights: ``(n_weights,)`` float values of the weight symbols.

        Returns:
            ``(batch, width)`` float, column k for qubit k; gradients reach
            ``angles`` and ``weights``.
        """

    @abc.abstractmethod
    def state(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Exact, noise-free output statevectors (for the paper's eqs. 3–4 metrics).

        Args:
            angles: ``(batch, n_inputs)`` float values of the input symbols.
            weights: ``(n_weights,)`` float values of the weight symbols.

        Returns:
            ``(batch, 2**width)`` complex, big-endian (qubit 0 most significant), as
            ``cirq.final_state_vector`` and ``tfq.layers.State`` order it.
        """
