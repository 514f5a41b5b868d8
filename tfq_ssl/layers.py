"""The quantum representation network as a Keras layer.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 3.2:
the compressed image features, squashed to angles in [0, π], are loaded with RX
gates, transformed by L layers of a trainable ansatz and read out as ⟨Z_k⟩.

Unlike ``tfq.layers.PQC`` (circuits in, no gradient to anything in front of it)
this layer takes the *angles* as a float tensor and feeds them to TFQ's expectation
op as symbol values next to its own trainable weights, in the ``ControlledPQC``
manner, so gradients reach both the ansatz weights and the Dense compression /
ResNet in front of it.
"""

from __future__ import annotations

import math
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import cirq
import numpy as np
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq
import tf_keras

from tfq_ssl import circuits as circuits_lib
from tfq_ssl.checks import check_positive_int

DIFFERENTIATORS = ("adjoint", "parameter_shift")
BACKENDS = ("tfq", "statevector", "tensornet")


def _tfq_differentiator(name: str) -> tfq.differentiators.Differentiator:
    # A TFQ differentiator instance can back only one op, so make a new one each time.
    if name == "adjoint":
        return tfq.differentiators.Adjoint()
    return tfq.differentiators.ParameterShift()


class _ExactParameterShift:
    """TFQ's analytic expectation op with an exact parameter-shift gradient.

    TFQ's ``ParameterShift`` applies the two-term rule to every gate, which is biased
    on a controlled rotation (generator eigenvalues {0, ±1/2}); run on the decomposed
    circuit it is exact but slow: the decomposed circuits simulate about 2.4x slower,
    and TFQ pads every symbol to the largest number of gates per symbol (2 for the
    CRX half-angles), building 4 shifted circuits per symbol from the serialized
    programs on every call. Here the circuit as built (CRX undecomposed) is rewritten
    once with one symbol per symbolic gate (``circuits.split_symbol_occurrences``);
    a shifted circuit is then just other symbol values for that one program:
    2 circuits per rotation (±π/2) and 4 per controlled rotation (±π/2, ±3π/2,
    ∂f/∂θ = c₊[f(θ+π/2) − f(θ−π/2)] − c₋[f(θ+3π/2) − f(θ−3π/2)],
    c± = (√2 ± 1)/(4√2)), all in one call of TFQ's expectation op. The forward pass
    is TFQ's expectation op on the circuit as built.

    Called as ``op(inputs (B, n_in), weights (n_w,))`` -> ``(B, len(operators))``;
    the gradient reaches both.
    """

    def __init__(self, circuit, input_symbols, weight_symbols, operators):
        source = list(input_symbols) + list(weight_symbols)
        occurrences = circuits_lib.split_symbol_occurrences(circuit, source)
        shifts, terms = occurrences.shift_terms(four_term=True)
        self._n_in = len(input_symbols)
        self._op = tfq.get_expectation_op()
        self._program = tfq.convert_to_tensor([circuit])
        self._names = tf.constant([str(s) for s in source])
        self._shift_program = tfq.convert_to_tensor([occurrences.circuit])
        self._shift_names = tf.constant([str(s) for s in occurrences.symbols])
        self._coefficients = occurrences.coefficients.astype(np.float32)
        self._bias = occurrences.bias.astype(np.float32)
        self._shifts = shifts.astype(np.float32)  # (terms, occurrences)
        self._terms = terms.astype(np.float32)  # (terms, inputs + weights)
        self._operators = operators  # (1, n_ops) tensor

    @property
    def num_shifted_circuits(self) -> int:
        """Circuits run per batch row for the gradient."""
        return len(self._shifts)

    def __call__(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        n_in = self._n_in

        @tf.custom_gradient
        def expectation(x, w):
            batch = tf.shape(x)[0]
            values = tf.concat([x, tf.tile(w[tf.newaxis], [batch, 1])], axis=1)
            out = self._op(
                tf.tile(self._program, [batch]), self._names, values,
                tf.tile(self._operators, [batch, 1]),
            )

            def grad(upstream):
                angles = tf.matmul(values, self._coefficients, transpose_b=True) + self._bias
                rows = angles[:, tf.newaxis, :] + self._shifts[tf.newaxis]  # (B, T, occ)
                n_terms, n_occ = self._shifts.shape
                count = batch * n_terms
                shifted = self._op(
                    tf.tile(self._shift_program, [count]), self._shift_names,
                    tf.reshape(rows, [count, n_occ]), tf.tile(self._operators, [count, 1]),
                )
                shifted = tf.reshape(shifted, [batch, n_terms, -1])
                per_term = tf.einsum("btk,bk->bt", shifted, upstream)
                grad_values = tf.matmul(per_term, self._terms)  # (B, inputs + weights)
                return grad_values[:, :n_in], tf.reduce_sum(grad_values[:, n_in:], axis=0)

            return out, grad

        return expectation(tf.cast(inputs, tf.float32), tf.cast(weights, tf.float32))


@tf_keras.utils.register_keras_serializable(package="tfq_ssl")
class QuantumRepresentation(tf_keras.layers.Layer):
    """Quantum representation network: RX data loading + ansatz, ⟨Z_k⟩ readout.

    Args:
        width: number of qubits W (= input and output width).
        layers: number of ansatz layers L.
        ansatz: ``"ring"`` (paper Fig. 2) or ``"all_to_all"`` (paper Fig. 10).
        differentiator: ``"adjoint"`` (exact, analytic runs only) or
            ``"parameter_shift"`` (exact here: analytic runs use the four-term shift
            rule for controlled rotations on TFQ's expectation op, see
            ``_ExactParameterShift``; sampled and noisy runs use TFQ's
            ``ParameterShift`` with the controlled rotations decomposed, see
            ``circuits.decompose_controlled_rotations``).
        shots: ``None`` for exact expectations, or the number of measurement shots
            per circuit (the paper's 100-shot mode); sampled runs differentiate by
            sampled parameter shift (``differentiator="parameter_shift"``).
        backend: ``"tfq"`` (TFQ's C++ simulator, the default) or
            ``"statevector"`` (a batched TensorFlow statevector simulator of the
            same Cirq circuit that runs on GPU and differentiates by autodiff;
            ``differentiator`` does not apply to its exact mode). With ``shots`` it
            draws binomial N-shot estimates from exact expectations and
            differentiates by sampled parameter shift on the decomposed circuit,
            with the statistics of TFQ's sampled path at a fraction of its cost
            (``simulate.SampledExpectationZ``).
            ``"tensornet"``: exact ⟨Z⟩ by contracting the ring as a tensor network
            (``tensornet.TensorNetworkSimulator``), cost linear in ``width`` — the
            fast path for W >= 12 (W = 16 costs ~0.2 s per 512-view step on 2 CPU
            cores, 2**W statevectors ~2 s); exact runs of the ring ansatz with
            L <= 3 only (all-to-all couples every pair of qubits).
        noise: depolarising probability applied to every qubit after every moment
            (``cirq.Circuit.with_noise``), simulated by TFQ's noisy backend with
            Monte-Carlo trajectories; needs ``differentiator="parameter_shift"``.
            Use it to prepare a model for the hardware it will run on (e.g. the
            device's mean gate error).
        noise_trajectories: trajectories per circuit for exact (``shots=None``) noisy
            expectations.
        **kwargs: passed to ``tf_keras.layers.Layer``.

    Shape:
        - Input: ``(batch, width)`` float angles (the paper uses sigmoid·π).
        - Output: ``(batch, width)`` float32 ⟨Z_k⟩ in [-1, 1].
    """

    def __init__(
        self,
        width: int,
        layers: int,
        ansatz: str = "ring",
        differentiator: str = "adjoint",
        shots: int | None = None,
        backend: str = "tfq",
        noise: float = 0.0,
        noise_trajectories: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_positive_int("width", width)
        check_positive_int("layers", layers)
        if ansatz not in circuits_lib.ANSATZE:
            raise ValueError(f"ansatz must be one of {circuits_lib.ANSATZE}, got {ansatz!r}.")
        if differentiator not in DIFFERENTIATORS:
            raise ValueError(
                f"differentiator must be one of {DIFFERENTIATORS}, got {differentiator!r}."
            )
        check_positive_int("shots", shots, none_means="exact")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
        if shots is not None and differentiator == "adjoint":
            raise ValueError(
                "differentiator='adjoint' is exact-only and cannot run with shots="
                f"{shots}; use differentiator='parameter_shift' for sampled runs."
            )
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
            raise ValueError(f"noise must be a probability in [0, 1), got {noise!r}.")
        if backend == "tensornet" and (shots is not None or ansatz != "ring"):
            raise ValueError(
                "backend='tensornet' computes exact expectations of the ring ansatz; "
                f"got shots={shots}, ansatz={ansatz!r}. Use backend='statevector' for "
                "sampled runs or the all-to-all ansatz."
            )
        if noise and (differentiator != "parameter_shift" or backend != "tfq"):
            raise ValueError(
                f"noise={noise} runs on TFQ's noisy backend, which supports only "
                "differentiator='parameter_shift' with backend='tfq'."
            )
        check_positive_int("noise_trajectories", noise_trajectories)

        self.width = width
        self.num_layers = layers
        self.ansatz = ansatz
        self.differentiator = differentiator
        self.shots = shots
        self.backend = backend
        self.noise = float(noise)
        self.noise_trajectories = noise_trajectories

        circuit, self.qubits, self.input_symbols, self.weight_symbols = (
            circuits_lib.representation_circuit(width, layers, ansatz)
        )
        self.circuit = circuit
        # Exact analytic parameter shift on TFQ: its own shift rules on the circuit
        # as built (four-term for the controlled rotations), see _ExactParameterShift.
        exact_shift = (
            backend == "tfq" and differentiator == "parameter_shift"
            and shots is None and not noise
        )
        # TFQ's two-term ParameterShift (sampled and noisy runs), and the sampled
        # statevector backend that reproduces it, are exact only for gates with a
        # two-eigenvalue generator: run the controlled rotations decomposed.
        if shots is not None or (
            differentiator == "parameter_shift" and not exact_shift and backend != "tensornet"
        ):
            circuit = circuits_lib.decompose_controlled_rotations(circuit)
        if self.noise:
            circuit = circuit.with_noise(cirq.depolarize(self.noise))
        self.executed_circuit = circuit
        self._symbol_names = tf.constant(
            [str(s) for s in self.input_symbols + self.weight_symbols]
        )
        self._program = tfq.convert_to_tensor([circuit])
        self._pure_program = tfq.convert_to_tensor([self.circuit])
        self._operators = tfq.convert_to_tensor(
            [circuits_lib.readout_operators(self.qubits)]
        )
        if backend == "statevector":
            from tfq_ssl.simulate import SampledExpectationZ, StatevectorSimulator

            self._simulator = StatevectorSimulator(
                circuit, self.qubits, self.input_symbols, self.weight_symbols
            )
            self._sampler = None
            if shots is not None:
                # The decomposed circuit: the same statistics as TFQ's sampled op
                # with ParameterShift on it, from exact statevectors.
                self._sampler = SampledExpectationZ(
                    circuit, self.qubits, self.input_symbols, self.weight_symbols, shots
                )
        elif backend == "tensornet":
            from tfq_ssl.tensornet import TensorNetworkSimulator

            self._simulator = TensorNetworkSimulator(
                circuit, self.qubits, self.input_symbols, self.weight_symbols
            )
            self._sampler = None
        elif exact_shift:
            self._op = _ExactParameterShift(
                circuit, self.input_symbols, self.weight_symbols, self._operators
            )
        elif self.noise:
            noisy_op = tfq.noise.expectation if shots is None else tfq.noise.sampled_expectation
            self._op = _tfq_differentiator(differentiator).generate_differentiable_op(
                sampled_op=noisy_op
            )
        elif shots is None:
            self._op = _tfq_differentiator(differentiator).generate_differentiable_op(
                analytic_op=tfq.get_expectation_op()
            )
        else:
            self._op = _tfq_differentiator(differentiator).generate_differentiable_op(
                sampled_op=tfq.get_sampled_expectation_op()
            )

    @property
    def symbols(self) -> list[sympy.Symbol]:
        """Input symbols followed by weight symbols, in weight-index order."""
        return list(self.input_symbols) + list(self.weight_symbols)

    def build(self, input_shape: tf.TensorShape) -> None:
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank != 2 or input_shape[-1] != self.width:
            raise ValueError(
                f"QuantumRepresentation(width={self.width}) expects inputs of shape "
                f"(batch, {self.width}), got {input_shape}."
            )
        self.ansatz_weights = self.add_weight(
            name="ansatz_weights",
            shape=(len(self.weight_symbols),),
            # The paper's code draws the ansatz angles from N(0, 1/W).
            initializer=tf_keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.width)),
            trainable=True,
        )
        super().build(input_shape)

    def symbol_values(self) -> dict[sympy.Symbol, float]:
        """Current ansatz weights keyed by their symbols."""
        values = self.ansatz_weights.numpy()
        return {s: float(v) for s, v in zip(self.weight_symbols, values)}

    def _values(self, inputs: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(inputs)[0]
        weights = tf.tile(self.ansatz_weights[tf.newaxis, :], [batch, 1])
        return tf.concat([tf.cast(inputs, tf.float32), weights], axis=1)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        inputs = tf.cast(inputs, tf.float32)
        if self.backend in ("statevector", "tensornet"):
            if self._sampler is not None:
                weights = tf.convert_to_tensor(self.ansatz_weights)
                return tf.ensure_shape(self._sampler(inputs, weights), [None, self.width])
            return self._simulator.expectation_z(inputs, self.ansatz_weights)
        if isinstance(self._op, _ExactParameterShift):
            out = self._op(inputs, tf.convert_to_tensor(self.ansatz_weights))
            return tf.ensure_shape(out, [None, self.width])
        batch = tf.shape(inputs)[0]
        programs = tf.tile(self._program, [batch])
        operators = tf.tile(self._operators, [batch, 1])
        values = self._values(inputs)
        if self.shots is None and not self.noise:
            out = self._op(programs, self._symbol_names, values, operators)
        else:
            samples = self.shots if self.shots is not None else self.noise_trajectories
            repetitions = tf.fill(tf.shape(operators), samples)
            out = self._op(programs, self._symbol_names, values, operators, repetitions)
        return tf.ensure_shape(out, [None, self.width])

    def statevectors(self, inputs: tf.Tensor) -> tf.Tensor:
        """Exact output states of the circuit for a batch of angles (no gradient).

        Used for the Hilbert–Schmidt metrics (paper eqs. 3–4). Noise-free even
        for a noisy layer: the metrics are defined on pure states.

        Shape:
            - inputs: ``(batch, width)``; returns ``(batch, 2**width)`` complex64,
              big-endian (qubit 0 most significant), as Cirq and TFQ order it.
        """
        inputs = tf.cast(inputs, tf.float32)
        if not self.built:
            self.build(inputs.shape)
        if self.backend == "statevector":
            return tf.stop_gradient(self._simulator.state(inputs, self.ansatz_weights))
        if self.backend == "tensornet":
            # Full states only for the metrics: the statevector simulator of the same
            # circuit, built on first use.
            if getattr(self, "_state_simulator", None) is None:
                from tfq_ssl.simulate import StatevectorSimulator

                self._state_simulator = StatevectorSimulator(
                    self.circuit, self.qubits, self.input_symbols, self.weight_symbols
                )
            return tf.stop_gradient(
                self._state_simulator.state(inputs, self.ansatz_weights)
            )
        batch = tf.shape(inputs)[0]
        states = tfq.get_state_op()(
            tf.tile(self._pure_program, [batch]), self._symbol_names, self._values(inputs)
        )
        return tf.stop_gradient(states.to_tensor())

    def compute_output_shape(self, input_shape: tf.TensorShape) -> tf.TensorShape:
        return tf.TensorShape(input_shape)[:-1].concatenate([self.width])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            width=self.width,
            layers=self.num_layers,
            ansatz=self.ansatz,
            differentiator=self.differentiator,
            shots=self.shots,
            backend=self.backend,
            noise=self.noise,
            noise_trajectories=self.noise_trajectories,
        )
        return config


def resolved_circuit(
    layer: QuantumRepresentation, angles: Any
) -> cirq.Circuit:
    """The layer's (undecomposed) circuit with one image's angles and its weights bound.

    Args:
        layer: a built ``QuantumRepresentation``.
        angles: ``(width,)`` input angles of one image.

    Returns:
        A parameter-free ``cirq.Circuit``.
    """
    values = dict(layer.symbol_values())
    values.update({s: float(a) for s, a in zip(layer.input_symbols, list(angles))})
    return cirq.resolve_parameters(layer.circuit, values)
