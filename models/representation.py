"""Representation networks of equal width and depth: quantum, classical, identity.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Sec. 3.2 and
Fig. 5: the quantum network (W qubits, L ansatz layers) is compared with a classical
MLP of the same width and depth, L × (Dense(W) + LeakyReLU). The MLP's activation is
an option so that controls can give it the circuit's kind of output: ``cos`` (bounded
in [-1, 1] and periodic, as ⟨Z⟩ of an RX-loaded qubit) and ``tanh`` (bounded only).
"""

from __future__ import annotations

from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from models.init import dense
from tfq_ssl.checks import check_positive_int
from tfq_ssl.config import ACTIVATIONS, REPRESENTATIONS
from tfq_ssl.quantum.layer import QuantumRepresentation

KINDS = REPRESENTATIONS  # the kinds a ModelConfig may name


def _activation(kind: str, index: int) -> tf_keras.layers.Layer:
    if kind == "leaky_relu":
        return tf_keras.layers.LeakyReLU(alpha=0.01, name=f"leaky_relu_{index}")
    if kind == "cos":
        return tf_keras.layers.Lambda(tf.cos, name=f"cos_{index}")
    return tf_keras.layers.Activation("tanh", name=f"tanh_{index}")


def classical_representation(width: int, layers: int, name: str = "classical_representation",
                             init: str = "keras", activation: str = "leaky_relu"
                             ) -> tf_keras.Sequential:
    """L × (Dense(W, bias) + activation): 144 parameters at W = 8, L = 2.

    Args:
        width, layers: W and L.
        name: the model's name.
        init: ``"keras"`` or ``"torch"`` (:mod:`models.init`).
        activation: ``"leaky_relu"`` (slope 0.01; the paper's), ``"cos"`` (outputs in
            [-1, 1], periodic) or ``"tanh"`` (in (-1, 1), not periodic).

    Shape:
        - Input: ``(batch, width)``; output: ``(batch, width)``.
    """
    check_positive_int("width", width)
    check_positive_int("layers", layers)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")
    blocks: list[tf_keras.layers.Layer] = []
    for i in range(layers):
        blocks.append(dense(width, width, init, name=f"dense_{i}"))
        blocks.append(_activation(activation, i))
    return tf_keras.Sequential(blocks, name=name)


def representation_network(
    kind: str, width: int, layers: int, init: str = "keras", activation: str = "leaky_relu",
    **quantum_options: Any
) -> tf_keras.layers.Layer:
    """Build the representation network that maps angles (batch, W) to y (batch, W).

    Args:
        kind: ``"quantum"`` (``QuantumRepresentation``), ``"classical"`` (MLP of the
            same width and depth) or ``"identity"`` (no representation network).
        width: W.
        layers: L.
        init: initialisation of the classical network (:mod:`models.init`).
        activation: the classical network's activation (:func:`classical_representation`).
        **quantum_options: ``ansatz``, ``differentiator``, ``shots``, ``engine`` for
            the quantum network; rejected for the other kinds.

    Returns:
        A Keras layer.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    if kind == "quantum":
        return QuantumRepresentation(width, layers, name="representation_network", **quantum_options)
    if quantum_options:
        raise ValueError(
            f"options {sorted(quantum_options)} apply to kind='quantum' only, got kind={kind!r}."
        )
    if kind == "classical":
        return classical_representation(width, layers, name="representation_network", init=init,
                                        activation=activation)
    return tf_keras.layers.Identity(name="representation_network")
