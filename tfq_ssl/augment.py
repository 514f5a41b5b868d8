"""SimCLR augmentations as in-graph TensorFlow ops on one image.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22): each image
gets two independently augmented views (random resized crop,
horizontal flip, colour jitter, grayscale; rotation and blur are optional extras),
following SimCLR (Chen et al. 2020) as in google-research/simclr ``tf2/data_util.py``.

Every random op here is *stateless* and takes an explicit ``seed`` (a shape-``[2]``
integer tensor), split per op, so a view is a pure function of (image, seed). The
function returned by :func:`make_augment` draws a seed itself when none is given, so
it can also be called as ``augment(image)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from tfq_ssl.config import AugmentConfig
from tfq_ssl.data import normalize, to_float

__all__ = [
    "AugmentConfig",
    "augment_image",
    "color_jitter",
    "gaussian_blur",
    "make_augment",
    "normalize",
    "random_apply",
    "random_resized_crop",
    "random_rotation",
    "to_float",
    "to_grayscale",
]

Seed = tf.Tensor
_MAX_SEED = 2**31 - 1


def random_apply(
    fn: Callable[[tf.Tensor], tf.Tensor], p: float, x: tf.Tensor, seed: Seed
) -> tf.Tensor:
    """Returns ``fn(x)`` with probability ``p``, else ``x`` (SimCLR ``random_apply``)."""
    draw = tf.random.stateless_uniform([], seed=seed)
    return tf.cond(draw < p, lambda: fn(x), lambda: x)


def random_resized_crop(
    image: tf.Tensor,
    seed: Seed,
    size: int,
    scale: tuple[float, float] = (0.2, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tf.Tensor:
    """Crops a random box of area fraction ``scale`` and aspect ``ratio``, resizes to ``size``.

    Falls back to the whole image when no box fits in 100 attempts.

    Shape:
        ``(H, W, C)`` float → ``(size, size, C)`` float.
    """
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=ratio,
        area_range=scale,
        max_attempts=100,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, crop_size)
    return tf.image.resize(crop, [size, size], method="bilinear")


def _brightness(image: tf.Tensor, delta: float, seed: Seed) -> tf.Tensor:
    # Multiplicative, as torchvision / SimCLR v2 (tf.image's brightness is additive).
    factor = tf.random.stateless_uniform([], seed, max(0.0, 1.0 - delta), 1.0 + delta)
    return image * factor


def color_jitter(
    image: tf.Tensor, strength: float, seed: Seed, random_order: bool = True
) -> tf.Tensor:
    """Random brightness, contrast, saturation and hue (SimCLR ``color_jitter``).

    Args:
        image: float RGB in ``[0, 1]``.
        strength: ``s``; factors in ``[1 - 0.8 s, 1 + 0.8 s]``, hue shift ``±0.2 s``.
        seed: stateless seed, shape ``[2]``.
        random_order: apply the four ops in a random order.

    Returns:
        Jittered image clipped to ``[0, 1]``.
    """
    s = 0.8 * strength
    hue = min(0.2 * strength, 0.5)
    seeds = tf.random.experimental.stateless_split(seed, 5)
    ops = [
        lambda x: _brightness(x, s, seeds[0]),
        lambda x: tf.image.stateless_random_contrast(x, max(0.0, 1 - s), 1 + s, seeds[1]),
        lambda x: tf.image.stateless_random_saturation(x, max(0.0, 1 - s), 1 + s, seeds[2]),
        lambda x: tf.image.stateless_random_hue(x, hue, seeds[3]),
    ]
    ops = [lambda x, op=op: tf.clip_by_value(op(x), 0.0, 1.0) for op in ops]
    if not random_order:
        for op in ops:
            image = op(image)
        return image
    order = tf.argsort(tf.random.stateless_uniform([len(ops)], seeds[4]))
    for i in range(len(ops)):
        image = tf.switch_case(order[i], [lambda op=op, x=image: op(x) for op in ops])
    return image


def to_grayscale(image: tf.Tensor) -> tf.Tensor:
    """Luma grayscale kept as three equal channels."""
    return tf.tile(tf.image.rgb_to_grayscale(image), [1, 1, 3])


def random_rotation(image: tf.Tensor, max_degrees: float, seed: Seed) -> tf.Tensor:
    """Rotates about the centre by a uniform angle in ``±max_degrees`` (reflect padding).

    Uses the same projective transform as ``tf_keras.layers.RandomRotation``.
    """
    angle = tf.random.stateless_uniform([], seed, -max_degrees, max_degrees) * (math.pi / 180.0)
    shape = tf.shape(image)
    h = tf.cast(shape[0], tf.float32) - 1.0
    w = tf.cast(shape[1], tf.float32) - 1.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Maps each output pixel (x, y) to the input pixel it is read from.
    transform = tf.stack(
        [
            cos,
            -sin,
            (w - (cos * w - sin * h)) / 2.0,
            sin,
            cos,
            (h - (sin * w + cos * h)) / 2.0,
            0.0,
            0.0,
        ]
    )
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=shape[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return rotated[0]


def gaussian_blur(
    image: tf.Tensor, kernel_size: int, seed: Seed, sigma_range: tuple[float, float] = (0.1, 2.0)
) -> tf.Tensor:
    """Separable Gaussian blur with a random sigma (SimCLR ``gaussian_blur``, reflect padding)."""
    sigma = tf.random.stateless_uniform([], seed, sigma_range[0], sigma_range[1])
    radius = kernel_size // 2
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-(x**2) / (2.0 * sigma**2))
    kernel = kernel / tf.reduce_sum(kernel)
    channels = tf.shape(image)[-1]
    k_h = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    k_w = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    padded = tf.pad(
        image[None], [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT"
    )
    blurred = tf.nn.depthwise_conv2d(padded, k_h, [1, 1, 1, 1], "VALID")
    blurred = tf.nn.depthwise_conv2d(blurred, k_w, [1, 1, 1, 1], "VALID")
    return blurred[0]


# Not converted by AutoGraph: no control flow on tensors (the random branches are
# explicit tf.cond), and converting it cost part of every input pipeline's trace.
@tf.autograph.experimental.do_not_convert
def augment_image(image: tf.Tensor, config: AugmentConfig, seed: Seed) -> tf.Tensor:
    """One SimCLR view of one image: the whole pipeline, composed here.

    crop → flip → (rotate) → colour jitter (p) → grayscale (p) → (blur, p) → normalise.

    Args:
        image: uint8 ``[0, 255]`` or float ``[0, 1]``.
        config: augmentation settings.
        seed: stateless seed, shape ``[2]`` (int32 or int64).

    Returns:
        float32 view, normalised if ``config.normalize`` else in ``[0, 1]``.

    Shape:
        ``(H, W, 3)`` → ``(image_size, image_size, 3)``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 8)
    x = to_float(image)
    x = random_resized_crop(x, seeds[0], config.image_size, config.crop_scale, config.crop_ratio)
    x = random_apply(tf.image.flip_left_right, config.p_flip, x, seeds[1])
    if config.rotation_degrees > 0:
        x = random_rotation(x, config.rotation_degrees, seeds[2])
    x = random_apply(
        lambda t: color_jitter(t, config.jitter_strength, seeds[3], config.jitter_random_order),
        config.p_jitter,
        x,
        seeds[4],
    )
    x = random_apply(to_grayscale, config.p_grayscale, x, seeds[5])
    if config.blur:
        x = random_apply(
            lambda t: gaussian_blur(t, config.blur_kernel_size, seeds[6]),
            config.p_blur,
            x,
            seeds[7],
        )
    x = tf.clip_by_value(x, 0.0, 1.0)
    x = tf.ensure_shape(x, [config.image_size, config.image_size, 3])
    return normalize(x) if config.normalize else x


def make_augment(config: AugmentConfig = AugmentConfig()) -> Callable[..., tf.Tensor]:
    """Returns ``augment(image, seed=None)`` for use inside ``tf.data.Dataset.map``.

    With ``seed=None`` a fresh seed is drawn from TensorFlow's stateful RNG on every
    call, so two calls give independent views; pass a shape-``[2]`` seed for a
    reproducible view (``tfq_ssl.data.pretraining_dataset`` does).

    Args:
        config: augmentation settings.

    Returns:
        Function mapping a uint8 ``(32, 32, 3)`` image to a float32 ``(32, 32, 3)`` view.
    """
    if not isinstance(config, AugmentConfig):
        raise TypeError(f"config must be an AugmentConfig, got {type(config).__name__}.")

    def augment(image: tf.Tensor, seed: Seed | None = None) -> tf.Tensor:
        if seed is None:
            seed = tf.random.uniform([2], 0, _MAX_SEED, dtype=tf.int64)
        return augment_image(image, config, seed)

    return augment
