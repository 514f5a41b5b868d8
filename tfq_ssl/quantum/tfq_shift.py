"""Exact ⟨Z_k⟩ on TFQ's analytic op with an exact (four-term) parameter-shift gradient."""

from __future__ import annotations

from typing import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq

from tfq_ssl.quantum import gate_angles
from tfq_ssl.quantum.tfq_common import TFQExecutor

__all__ = ["TFQParameterShift"]


class TFQParameterShift(TFQExecutor):
    """TFQ's analytic expectation op with an exact parameter-shift gradient.

    TFQ's ``ParameterShift`` applies the two-term rule to every gate, which is biased
    on a controlled rotation (generator eigenvalues {0, ±1/2}); run on the decomposed
    circuit it is exact but slow: the decomposed circuits are longer to simulate,
    and TFQ pads every symbol to the largest number of gates per symbol (2 for the
    CRX half-angles), building 4 shifted circuits per symbol from the serialized
    programs on every call. Here the circuit as built (CRX undecomposed) is rewritten
    once with one symbol per symbolic gate (``gate_angles.split_symbol_occurrences``);
    a shifted circuit is then just other symbol values for that one program:
    2 circuits per rotation (±π/2) and 4 per controlled rotation (±π/2, ±3π/2,
    ∂f/∂θ = c₊[f(θ+π/2) − f(θ−π/2)] − c₋[f(θ+3π/2) − f(θ−3π/2)],
    c± = (√2 ± 1)/(4√2)), all in one call of TFQ's expectation op. The forward pass
    is TFQ's expectation op on the circuit as built.

    ``expectation_z(inputs (B, n_in), weights (n_w,))`` -> ``(B, W)``; the gradient
    reaches both.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
    ) -> None:
        super().__init__(circuit, qubits, input_symbols, weight_symbols)
        occurrences = gate_angles.split_symbol_occurrences(circuit, self.symbols)
        shifts, terms = occurrences.shift_terms(four_term=True)
        self._n_in = len(input_symbols)
        self._op = tfq.get_expectation_op()
        self._shift_program = tfq.convert_to_tensor([occurrences.circuit])
        self._shift_names = tf.constant([str(s) for s in occurrences.symbols])
        self._coefficients = occurrences.coefficients.astype(np.float32)
        self._bias = occurrences.bias.astype(np.float32)
        self._shifts = shifts.astype(np.float32)  # (terms, occurrences)
        self._terms = terms.astype(np.float32)  # (terms, inputs + weights)

    @property
    def num_shifted_circuits(self) -> int:
        """Circuits run per batch row for the gradient."""
        return len(self._shifts)

    def expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        n_in = self._n_in

        @tf.custom_gradient
        def expectation(x, w):
            batch = tf.shape(x)[0]
            values = tf.concat([x, tf.tile(w[tf.newaxis], [batch, 1])], axis=1)
            out = self._op(
                tf.tile(self.program, [batch]), self.symbol_names, values,
                tf.tile(self.operators, [batch, 1]),
            )

            def grad(upstream):
                angles = tf.matmul(values, self._coefficients, transpose_b=True) + self._bias
                rows = angles[:, tf.newaxis, :] + self._shifts[tf.newaxis]  # (B, T, occ)
                n_terms, n_occ = self._shifts.shape
                count = batch * n_terms
                shifted = self._op(
                    tf.tile(self._shift_program, [count]), self._shift_names,
                    tf.reshape(rows, [count, n_occ]), tf.tile(self.operators, [count, 1]),
                )
                shifted = tf.reshape(shifted, [batch, n_terms, -1])
                per_term = tf.einsum("btk,bk->bt", shifted, upstream)
                grad_values = tf.matmul(per_term, self._terms)  # (B, inputs + weights)
                return grad_values[:, :n_in], tf.reduce_sum(grad_values[:, n_in:], axis=0)

            return out, grad

        return expectation(tf.cast(inputs, tf.float32), tf.cast(weights, tf.float32))
