"""Sampled and noisy ⟨Z_k⟩ on TFQ's ops, differentiated by TFQ's ``ParameterShift``.

TFQ's two-term rule is exact only for gates whose generator has two eigenvalues, so
the factory hands this executor the circuit with its controlled rotations
decomposed (``circuits.decompose_controlled_rotations``), and with depolarising
channels for noisy runs (Monte-Carlo trajectories on TFQ's noisy backend).
"""

from __future__ import annotations

from typing import Sequence

import cirq
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq

from tfq_ssl.quantum.tfq_common import TFQExecutor, tfq_differentiator

__all__ = ["TFQSampled"]


class TFQSampled(TFQExecutor):
    """N-shot estimates (``shots``) and/or noisy trajectories (``noisy``) on TFQ.

    Args:
        circuit, qubits, input_symbols, weight_symbols, pure_circuit: as
            :class:`tfq_ssl.quantum.tfq_common.TFQExecutor`.
        shots: measurement shots per circuit and operator, or None for exact
            expectations of a noisy circuit.
        noisy: whether ``circuit`` holds noise channels (TFQ's noisy ops).
        noise_trajectories: trajectories per circuit when ``shots`` is None.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
        pure_circuit: cirq.Circuit,
        shots: int | None,
        noisy: bool,
        noise_trajectories: int,
    ) -> None:
        super().__init__(circuit, qubits, input_symbols, weight_symbols, pure_circuit)
        if noisy:
            op = tfq.noise.expectation if shots is None else tfq.noise.sampled_expectation
        else:
            op = tfq.get_sampled_expectation_op()
        self.op = tfq_differentiator("parameter_shift").generate_differentiable_op(sampled_op=op)
        self.repetitions = shots if shots is not None else noise_trajectories

    def expectation_z(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(angles)[0]
        operators = tf.tile(self.operators, [batch, 1])
        return self.op(
            tf.tile(self.program, [batch]), self.symbol_names,
            self.symbol_values(angles, weights), operators,
            tf.fill(tf.shape(operators), self.repetitions),
        )
