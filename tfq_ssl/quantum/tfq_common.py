"""What the executors on TensorFlow Quantum's ops share: programs, symbols, states.

TFQ runs serialized circuits with symbol values given by name; values are
``concat(angles, tiled weights)`` in the ``ControlledPQC`` manner, so the gradient
reaches the classical network that supplies the angles (see ``shared/DESIGN.md``).
"""

from __future__ import annotations

from typing import Sequence

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import cirq
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq
from tensorflow_quantum.core.ops import tfq_simulate_ops

from tfq_ssl.quantum.circuits import readout_operators
from tfq_ssl.quantum.executor import Executor

__all__ = ["TFQExecutor", "tfq_differentiator"]


def tfq_differentiator(name: str) -> tfq.differentiators.Differentiator:
    """A new TFQ differentiator: an instance can back only one op."""
    if name == "adjoint":
        return tfq.differentiators.Adjoint()
    return tfq.differentiators.ParameterShift()


class TFQExecutor(Executor):
    """Base of the TFQ executors: the programs to run and the exact-state op.

    Args:
        circuit: the circuit to run (decomposed or noisy where the subclass needs it).
        qubits: the register, read out as ⟨Z_k⟩ in this order.
        input_symbols: per-row symbols, in the column order of the angles.
        weight_symbols: shared symbols, in the order of the weights.
        pure_circuit: the noise-free circuit whose states :meth:`state` returns
            (default ``circuit``).
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
        pure_circuit: cirq.Circuit | None = None,
    ) -> None:
        self.circuit = circuit
        self.qubits = list(qubits)
        self.width = len(self.qubits)
        self.symbols = list(input_symbols) + list(weight_symbols)
        self.symbol_names = tf.constant([str(s) for s in self.symbols])
        self.program = tfq.convert_to_tensor([circuit])
        self.pure_program = tfq.convert_to_tensor([pure_circuit or circuit])
        self.operators = tfq.convert_to_tensor([readout_operators(self.qubits)])  # (1, W)

    def symbol_values(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """``(batch, n_inputs + n_weights)``: the angles, then the weights on every row."""
        batch = tf.shape(angles)[0]
        weights = tf.tile(tf.cast(weights, tf.float32)[tf.newaxis], [batch, 1])
        return tf.concat([tf.cast(angles, tf.float32), weights], axis=1)

    def state(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Noise-free states ``(batch, 2**W)`` complex64 of ``pure_circuit`` (no gradient)."""
        batch = tf.shape(angles)[0]
        # TFQ's own simulation op, not the ``tfq.get_state_op()`` wrapper: the wrapper
        # turns its padded output ragged by masking the *real parts* cast to float32
        # (tfq_utility_ops.padded_to_ragged), which logs a complex-to-float warning in
        # every run. Every circuit here has the same W qubits, so nothing is padded.
        return tfq_simulate_ops.tfq_simulate_state(
            tf.tile(self.pure_program, [batch]), self.symbol_names,
            self.symbol_values(angles, weights),
        )
