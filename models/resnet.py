"""ResNet encoders (He et al. 2016) for SimCLR, in tf_keras.

A factory keyed by depth, with a ``stem`` switch as in google-research/simclr:
``"imagenet"`` (7×7/2 conv + 3×3/2 max-pool; what the paper's code used on 32×32
CIFAR images) or ``"cifar"`` (3×3/1 conv, no pool).
"""

from __future__ import annotations

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from models.conv import Conv2D
from models.init import conv_kernel
from tfq_ssl.config import STEMS

_BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def _conv_bn(x: tf.Tensor, filters: int, kernel: int, stride: int, name: str, relu: bool = True,
             synchronized: bool = False, init: str = "keras") -> tf.Tensor:
    x = Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False,
        kernel_initializer=conv_kernel(init), name=f"{name}_conv",
    )(x)
    x = tf_keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=synchronized, name=f"{name}_bn")(x)
    return tf_keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _basic_block(x: tf.Tensor, filters: int, stride: int, name: str, synchronized: bool,
                 init: str) -> tf.Tensor:
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, f"{name}_proj", False, synchronized, init)
    y = _conv_bn(x, filters, 3, stride, f"{name}_1", True, synchronized, init)
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", False, synchronized, init)
    y = tf_keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return tf_keras.layers.ReLU(name=f"{name}_out")(y)


def resnet(
    depth: int = 18,
    stem: str = "imagenet",
    input_shape: tuple[int, int, int] = (32, 32, 3),
    name: str | None = None,
    synchronized_bn: bool = False,
    init: str = "keras",
) -> tf_keras.Model:
    """A ResNet backbone ending in global average pooling.

    Args:
        depth: 10, 18 or 34 (basic blocks; 10 keeps tests small).
        stem: ``"imagenet"`` or ``"cifar"``.
        input_shape: image shape (H, W, C).
        name: model name (default ``resnet{depth}``).
        synchronized_bn: BatchNorm statistics over the global batch under
            ``tf.distribute`` (SimCLR's global BN); same weights either way.
        init: ``"keras"`` or ``"torch"`` convolution initialisation (:mod:`models.init`).

    Returns:
        A functional ``tf_keras.Model``.

    Shape:
        - Input: ``(batch, H, W, C)`` float images; output: ``(batch, 512)``.
    """
    if depth not in _BLOCKS:
        raise ValueError(f"depth must be one of {sorted(_BLOCKS)}, got {depth!r}.")
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}.")
    images = tf_keras.Input(shape=input_shape, name="images")
    if stem == "imagenet":
        x = _conv_bn(images, 64, 7, 2, "stem", True, synchronized_bn, init)
        x = tf_keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    else:
        x = _conv_bn(images, 64, 3, 1, "stem", True, synchronized_bn, init)
    for stage, (blocks, filters) in enumerate(zip(_BLOCKS[depth], (64, 128, 256, 512))):
        for block in range(blocks):
            stride = 2 if (stage > 0 and block == 0) else 1
            x = _basic_block(x, filters, stride, f"stage{stage + 1}_block{block + 1}",
                             synchronized_bn, init)
    features = tf_keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return tf_keras.Model(images, features, name=name or f"resnet{depth}")
