"""Linear probe on a frozen encoder (paper Sec. 4: representation quality).

The encoder (everything up to the representation y) is frozen and run in inference
mode (BatchNorm uses its moving statistics); only a Dense(num_classes) head learns.
"""

from __future__ import annotations

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tf_keras


def probe_head(width: int, num_classes: int) -> tf_keras.Sequential:
    """Dense(num_classes) on representations y (logits out).

    Shape:
        - Input ``(batch, width)``; output ``(batch, num_classes)``.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes!r}.")
    return tf_keras.Sequential(
        [tf_keras.Input((width,), name="representation"),
         tf_keras.layers.Dense(num_classes, name="probe_head")],
        name="linear_probe_head",
    )


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
