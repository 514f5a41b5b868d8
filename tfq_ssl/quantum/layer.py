"""The quantum representation network as a Keras layer.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 3.2:
the compressed image features, squashed to angles in [0, π], are loaded with RX
gates, transformed by L layers of a trainable ansatz and read out as ⟨Z_k⟩.

Unlike ``tfq.layers.PQC`` (circuits in, no gradient to anything in front of it)
this layer takes the *angles* as a float tensor and hands them, with its own
trainable weights, to an executor (:mod:`tfq_ssl.quantum.factory`), so gradients
reach both the ansatz weights and the Dense compression / ResNet in front of it.
"""

from __future__ import annotations

import math
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import cirq
import sympy
import tensorflow as tf
import tf_keras

from tfq_ssl.checks import check_positive_int
from tfq_ssl.quantum.circuits import bind, representation_circuit
from tfq_ssl.quantum.device_noise import from_fake_backend
from tfq_ssl.quantum.factory import make_executor

__all__ = ["QuantumRepresentation", "resolved_circuit"]


@tf_keras.utils.register_keras_serializable(package="tfq_ssl")
class QuantumRepresentation(tf_keras.layers.Layer):
    """Quantum representation network: RX data loading + ansatz, ⟨Z_k⟩ readout.

    Args:
        width: number of qubits W (= input and output width).
        layers: number of ansatz layers L.
        ansatz: ``"ring"`` (paper Fig. 2), ``"ring_product"`` (the ring without
            entanglement, a control) or ``"all_to_all"`` (paper Fig. 10).
        differentiator, shots, engine, noise, noise_trajectories: how the circuit
            runs and is differentiated (``"adjoint"`` / ``"parameter_shift"``;
            ``None`` or N shots; ``"tfq"`` / ``"statevector"`` / ``"tensornet"``;
            depolarising probability; trajectories), see
            :func:`tfq_ssl.quantum.factory.make_executor` for what combines.
        noise_from: ``None`` or a fake backend whose calibration is the noise to run
            under (:mod:`tfq_ssl.quantum.device_noise`); ``noise_trajectories`` then
            defaults to 1.
        **kwargs: passed to ``tf_keras.layers.Layer``.

    Shape:
        - Input: ``(batch, width)`` float angles (the paper uses sigmoid·π).
        - Output: ``(batch, width)`` float32 ⟨Z_k⟩ in [-1, 1].
    """

    def __init__(self, width: int, layers: int, ansatz: str = "ring",
                 differentiator: str = "adjoint", shots: int | None = None,
                 engine: str = "tfq", noise: float = 0.0, noise_trajectories: int | None = None,
                 noise_from: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_positive_int("width", width)
        check_positive_int("layers", layers)
        self.circuit, self.qubits, self.input_symbols, self.weight_symbols = (
            representation_circuit(width, layers, ansatz))
        if noise_trajectories is None:
            noise_trajectories = 1 if noise_from is not None else 200
        self.device_noise = (None if noise_from is None else
                             from_fake_backend(noise_from, self.circuit, self.qubits))
        self.executor = make_executor(
            self.circuit, self.qubits, self.input_symbols, self.weight_symbols, layers=layers,
            ansatz=ansatz,
            differentiator=differentiator, shots=shots, engine=engine, noise=noise,
            noise_trajectories=noise_trajectories, device_noise=self.device_noise)
        self.executed_circuit = self.executor.circuit
        self.width, self.num_layers, self.ansatz = width, layers, ansatz
        self.differentiator, self.shots, self.engine = differentiator, shots, engine
        self.noise, self.noise_trajectories = float(noise), noise_trajectories
        self.noise_from = noise_from

    @property
    def symbols(self) -> list[sympy.Symbol]:
        """Input symbols followed by weight symbols, in weight-index order."""
        return list(self.input_symbols) + list(self.weight_symbols)

    def build(self, input_shape: tf.TensorShape) -> None:
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank != 2 or input_shape[-1] != self.width:
            raise ValueError(
                f"QuantumRepresentation(width={self.width}) expects inputs of shape "
                f"(batch, {self.width}), got {input_shape}.")
        self.ansatz_weights = self.add_weight(
            name="ansatz_weights", shape=(len(self.weight_symbols),),
            # The paper's code draws the ansatz angles from N(0, 1/W).
            initializer=tf_keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.width)),
            trainable=True)
        super().build(input_shape)

    @property
    def symbolic(self) -> tuple[cirq.Circuit, list[cirq.Qid], list[sympy.Symbol], list[sympy.Symbol]]:
        """``(circuit, qubits, input_symbols, weight_symbols)``: the layer's own circuit,
        as :func:`~tfq_ssl.quantum.circuits.representation_circuit` returns one (what the
        converter binds and takes to Qiskit)."""
        return self.circuit, list(self.qubits), list(self.input_symbols), list(self.weight_symbols)

    def symbol_values(self) -> dict[sympy.Symbol, float]:
        """Current ansatz weights keyed by their symbols."""
        values = self.ansatz_weights.numpy()
        return {s: float(v) for s, v in zip(self.weight_symbols, values)}

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._expectations(inputs)

    # Not converted by AutoGraph: the executors unroll static circuit programs in plain
    # Python (no control flow on tensors), so converting them only adds tracing time.
    # (On a method of its own: Keras reads call's signature, which the decorator hides.)
    @tf.autograph.experimental.do_not_convert
    def _expectations(self, inputs: tf.Tensor) -> tf.Tensor:
        weights = tf.convert_to_tensor(self.ansatz_weights)
        out = self.executor.expectation_z(tf.cast(inputs, tf.float32), weights)
        return tf.ensure_shape(out, [None, self.width])

    @tf.autograph.experimental.do_not_convert
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
        weights = tf.convert_to_tensor(self.ansatz_weights)
        return tf.stop_gradient(self.executor.state(inputs, weights))

    def compute_output_shape(self, input_shape: tf.TensorShape) -> tf.TensorShape:
        return tf.TensorShape(input_shape)[:-1].concatenate([self.width])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            width=self.width, layers=self.num_layers, ansatz=self.ansatz,
            differentiator=self.differentiator, shots=self.shots, engine=self.engine,
            noise=self.noise, noise_trajectories=self.noise_trajectories,
            noise_from=self.noise_from)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QuantumRepresentation":
        """Also reads ``.keras`` files saved before ``backend`` was renamed ``engine``."""
        config = dict(config)
        legacy = config.pop("backend", None)
        if legacy is not None:
            config.setdefault("engine", legacy)
        return cls(**config)


def resolved_circuit(layer: QuantumRepresentation, angles: Any) -> cirq.Circuit:
    """The layer's (undecomposed) circuit with one image's angles and its weights bound.

    Args:
        layer: a built ``QuantumRepresentation``.
        angles: ``(width,)`` input angles of one image.

    Returns:
        A parameter-free ``cirq.Circuit``.
    """
    return bind(layer.circuit, layer.input_symbols, layer.weight_symbols, angles,
                layer.ansatz_weights.numpy(), f"layer {layer.name}")
