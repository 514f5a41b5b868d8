"""Exact ⟨Z_k⟩ on TFQ's analytic expectation op, differentiated by TFQ's ``Adjoint``."""

from __future__ import annotations

from typing import Sequence

import cirq
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq

from tfq_ssl.quantum.tfq_common import TFQExecutor, tfq_differentiator

__all__ = ["TFQAdjoint"]


class TFQAdjoint(TFQExecutor):
    """TFQ's C++ simulator with the adjoint gradient: exact, analytic runs only.

    Args: as :class:`tfq_ssl.quantum.tfq_common.TFQExecutor`.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
    ) -> None:
        super().__init__(circuit, qubits, input_symbols, weight_symbols)
        self.op = tfq_differentiator("adjoint").generate_differentiable_op(
            analytic_op=tfq.get_expectation_op()
        )

    def expectation_z(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(angles)[0]
        return self.op(
            tf.tile(self.program, [batch]), self.symbol_names,
            self.symbol_values(angles, weights), tf.tile(self.operators, [batch, 1]),
        )
