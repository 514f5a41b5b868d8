"""The linear probe by Keras' ``Model.fit``: the library path that
:func:`models.linear_probe.train_probes` replaced, kept to compare against
(``python -m bench.probe --keras``; tests/bench/test_keras_probe.py checks the two agree).

Cached protocol: ``fit`` on the head over precomputed features. Paper protocol:
``fit`` on frozen encoder + head over an augmented ``tf.data`` pipeline, the features
recomputed every epoch.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import tensorflow as tf
import tf_keras

from models.linear_probe import features, head_optimizer, learning_rate, probe_head
from models.probe_heads import summarise
from tfq_ssl import config as config_lib
from tfq_ssl.augment import make_augment
from tfq_ssl.config import AugmentConfig, ProbeConfig
from tfq_ssl.data import probe_dataset


def linear_probe(
    encoder: tf_keras.Model, num_classes: int, head: tf_keras.Model | None = None
) -> tf_keras.Model:
    """images → frozen encoder → head. No encoder weight can move.

    Args:
        encoder: images → y; it is set non-trainable and always called with
            ``training=False``.
        num_classes: output classes.
        head: an existing head (e.g. one trained on cached features); default new.

    Shape:
        - Input: ``(batch, 32, 32, 3)`` normalised images; output ``(batch, num_classes)`` logits.
    """
    encoder.trainable = False
    width = encoder.output_shape[-1]
    head = head or probe_head(width, num_classes)
    images = tf_keras.Input(encoder.input_shape[1:], name="images")
    logits = head(encoder(images, training=False))
    return tf_keras.Model(images, logits, name="linear_probe")


def _compile(model: tf_keras.Model, probe: ProbeConfig, steps_per_execution: int = 1) -> None:
    model.compile(
        steps_per_execution=steps_per_execution,
        optimizer=head_optimizer(probe),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def keras_probe(
    encoder: tf_keras.Model,
    train_images: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    test_images: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    names: Sequence[str],
    probe: ProbeConfig,
    verbose: int = 0,
    callbacks: Sequence[tf_keras.callbacks.Callback] = (),
) -> tuple[dict[str, Any], tf_keras.Model]:
    """:func:`models.linear_probe.train_probe` by ``Model.fit`` (same arguments; ``verbose`` is
    Keras' verbosity). Returns the summary dict and the trained head."""
    config_lib.check_probe(probe)
    tf_keras.utils.set_random_seed(probe.seed)
    encoder.trainable = False
    train_images, test_images = (tf.data.Dataset.from_tensor_slices(d) if isinstance(d, tuple)
                                 else d for d in (train_images, test_images))
    k = len(names)
    test = probe_dataset(test_images, batch_size=probe.batch_size, shuffle=False)
    head = probe_head(encoder.output_shape[-1], k)
    callbacks = [tf_keras.callbacks.LearningRateScheduler(
        lambda epoch: learning_rate(probe, epoch)), *callbacks]
    if probe.protocol == "cached":
        x_train, y_train = features(
            encoder, probe_dataset(train_images, batch_size=probe.batch_size, shuffle=False))
        x_test, y_test = features(encoder, test)
        # The head alone is tiny: run many steps per call to cut Keras' per-step overhead.
        _compile(head, probe, steps_per_execution=64)
        history = head.fit(
            x_train, y_train, batch_size=probe.batch_size, epochs=probe.epochs,
            validation_data=(x_test, y_test), callbacks=callbacks, verbose=verbose,
        ).history
        logits = head.predict(x_test, batch_size=probe.batch_size, verbose=0)
    else:
        augment = make_augment(AugmentConfig(crop_scale=probe.crop_scale))
        train = probe_dataset(train_images, batch_size=probe.batch_size, augment=augment,
                              shuffle=True, seed=probe.seed)
        model = linear_probe(encoder, k, head)
        _compile(model, probe)
        history = model.fit(train, epochs=probe.epochs, validation_data=test,
                            callbacks=callbacks, verbose=verbose).history
        y_test = np.concatenate([labels.numpy() for _, labels in test])
        logits = model.predict(test, verbose=0)
    return summarise(history, y_test, logits, names), head
