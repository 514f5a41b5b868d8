"""SimCLR with a quantum (or classical) representation network, trained by ``model.fit``.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), Fig. 1–2:

    image ──► ResNet ──► Dense(W) ──► sigmoid·π = angles ──► representation network = y
          ──► projection head = z ──► NT-Xent(τ)

The whole wiring is ``build_encoder`` + ``projection_head`` + ``SimCLR.train_step``.
"""

from __future__ import annotations

import math
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from models.init import dense
from models.representation import representation_network
from models.resnet import resnet
from tfq_ssl.config import ModelConfig
from tfq_ssl.quantum.layer import QuantumRepresentation
from tfq_ssl.losses import nt_xent


@tf_keras.utils.register_keras_serializable(package="tfq_ssl")
class AngleEncoding(tf_keras.layers.Layer):
    """sigmoid(x)·π: squashes compressed features to rotation angles in [0, π]."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.sigmoid(inputs) * math.pi


def build_encoder(
    config: ModelConfig,
    image_shape: tuple[int, int, int] = (32, 32, 3),
    synchronized_bn: bool = False,
) -> tf_keras.Model:
    """The frozen-able encoder: images → representation y.

    Layers named ``backbone``, ``compression``, ``angles`` and
    ``representation_network`` let callers cut it (e.g. the converter takes the
    model up to ``angles``).

    Shape:
        - Input: ``(batch, 32, 32, 3)`` normalised images; output ``(batch, W)``.
    """
    images = tf_keras.Input(shape=image_shape, name="images")
    backbone = resnet(config.resnet_depth, config.stem, image_shape, name="backbone",
                      synchronized_bn=synchronized_bn, init=config.init)
    features = backbone(images)
    compressed = dense(config.width, backbone.output_shape[-1], config.init,
                       name="compression")(features)
    angles = AngleEncoding(name="angles")(compressed)
    representation = representation_network(
        config.representation, config.width, config.layers, init=config.init,
        activation=config.activation, **config.quantum_options()
    )
    y = representation(angles)
    return tf_keras.Model(images, y, name="encoder")


# BatchNorm (momentum, epsilon) of the projection head: Keras' defaults, or PyTorch's
# BatchNorm1d defaults (its momentum 0.1 weighs the new batch: Keras' 0.9).
HEAD_BN = {"keras": (0.99, 1e-3), "torch": (0.9, 1e-5)}


def projection_head(width: int, synchronized_bn: bool = False,
                    init: str = "keras", bn: str = "keras") -> tf_keras.Sequential:
    """Dense(W, no bias) → BatchNorm → ReLU → Dense(W) → L2 normalisation = z.

    ``init``: the Dense layers' initialisation (:mod:`models.init`); ``bn``: the
    BatchNorm's momentum and epsilon, ``"keras"`` or ``"torch"`` (:data:`HEAD_BN`).
    """
    momentum, epsilon = HEAD_BN[bn]
    return tf_keras.Sequential(
        [
            dense(width, width, init, use_bias=False, name="proj_dense_1"),
            tf_keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon,
                                               synchronized=synchronized_bn, name="proj_bn"),
            tf_keras.layers.ReLU(name="proj_relu"),
            dense(width, width, init, name="proj_dense_2"),
            tf_keras.layers.UnitNormalization(axis=-1, name="proj_l2"),
        ],
        name="projection_head",
    )


def angle_model(encoder: tf_keras.Model) -> tf_keras.Model:
    """The encoder cut after the angle encoding: images → angles (batch, W)."""
    return tf_keras.Model(encoder.input, encoder.get_layer("angles").output, name="angle_model")


def quantum_layer(encoder: tf_keras.Model) -> QuantumRepresentation | None:
    """The encoder's quantum representation layer, or ``None`` for other kinds."""
    layer = encoder.get_layer("representation_network")
    return layer if isinstance(layer, QuantumRepresentation) else None


class SimCLR(tf_keras.Model):
    """Contrastive model: ``fit`` on ``((view1, view2), label)`` batches.

    Args:
        encoder: images → y.
        head: y → z (``None``: the loss acts on y itself, as in the paper's 2-class run).
        temperature: NT-Xent τ (paper: 0.07).
        bn_per_view: one forward pass per view, so BatchNorm normalises each view's
            batch on its own (the paper's code); default: both views as one batch.
    """

    def __init__(self, encoder: tf_keras.Model, head: tf_keras.Model | None,
                 temperature: float = 0.07, bn_per_view: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}.")
        self.encoder = encoder
        self.head = head
        self.temperature = float(temperature)
        self.bn_per_view = bool(bn_per_view)
        # Every replica computes the same global loss: report replica 0's, not the sum.
        self.distribute_reduction_method = "first"
        self.loss_tracker = tf_keras.metrics.Mean(name="loss")
        self.accuracy_tracker = tf_keras.metrics.Mean(name="contrastive_accuracy")

    @property
    def metrics(self) -> list[tf_keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        y = self.encoder(images, training=training)
        return self.head(y, training=training) if self.head is not None else y

    def _contrastive(self, data: Any, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """NT-Xent loss and contrastive top-1 accuracy of one batch of view pairs."""
        (view1, view2), _ = data
        if self.bn_per_view:
            z1, z2 = self(view1, training=training), self(view2, training=training)
        else:
            batch = tf.shape(view1)[0]
            z = self(tf.concat([view1, view2], axis=0), training=training)
            z1, z2 = z[:batch], z[batch:]
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            # Negatives come from the global batch, as on one device: every replica
            # computes the same global loss (see train_step for its gradient).
            z1 = context.all_gather(z1, axis=0)
            z2 = context.all_gather(z2, axis=0)
        loss, logits, labels = nt_xent(z1, z2, self.temperature)
        predicted = tf.argmax(logits, axis=-1, output_type=labels.dtype)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32))
        return loss, accuracy

    def _logs(self, loss: tf.Tensor, accuracy: tf.Tensor) -> dict[str, tf.Tensor]:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        # Running means (Keras' convention) plus this batch's values, which the
        # per-batch log and the paper's loss curves use.
        logs = {m.name: m.result() for m in self.metrics}
        logs.update(batch_loss=loss, batch_accuracy=accuracy)
        return logs

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss, accuracy = self._contrastive(data, training=True)
            total = loss + tf.add_n(self.losses) if self.losses else loss
            # Each replica's copy of the global loss back-propagates through all_gather
            # into every replica, and Keras sums gradients over replicas: divide by R so
            # the update equals one device's update on the global batch (checked in
            # tests/test_distribute.py).
            total = total / replicas if replicas > 1 else total
        grads = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._logs(loss, accuracy)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        return self._logs(*self._contrastive(data, training=False))


def build_simclr(config: ModelConfig, temperature: float = 0.07, synchronized_bn: bool = False) -> SimCLR:
    """Encoder + optional projection head, built and ready to ``compile``.

    Args:
        config: model settings.
        temperature: NT-Xent τ.
        synchronized_bn: global-batch BatchNorm across ``tf.distribute`` replicas
            (build inside ``strategy.scope()``); checkpoints are interchangeable.
    """
    encoder = build_encoder(config, synchronized_bn=synchronized_bn)
    head = (projection_head(config.width, synchronized_bn, config.init, config.head_bn)
            if config.projection_head else None)
    model = SimCLR(encoder, head, temperature=temperature, bn_per_view=config.bn_per_view,
                   name="simclr")
    model(tf.zeros((2, 32, 32, 3)))  # create all weights so checkpoints restore eagerly
    return model
