import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np
import pytest
import tensorflow as tf

from tfq_ssl import augment as aug
from tfq_ssl.data import CIFAR10_MEAN, CIFAR10_STD

LOW = (0.0 - np.array(CIFAR10_MEAN)) / np.array(CIFAR10_STD)
HIGH = (1.0 - np.array(CIFAR10_MEAN)) / np.array(CIFAR10_STD)
SEED = tf.constant([7, 11], tf.int64)
NO_RANDOMNESS = dict(crop_scale=(1.0, 1.0), p_jitter=0.0, p_grayscale=0.0, p_flip=0.0)


@pytest.fixture(scope="module")
def image():
    return tf.constant(np.random.default_rng(0).integers(0, 256, (32, 32, 3)), tf.uint8)


def test_two_views_differ(image):
    augment = aug.make_augment(aug.AugmentConfig())
    assert np.abs(augment(image) - augment(image)).max() > 1e-3


def test_same_seed_gives_same_view(image):
    augment = aug.make_augment(aug.AugmentConfig(rotation_degrees=10.0, blur=True))
    np.testing.assert_array_equal(augment(image, seed=SEED), augment(image, seed=SEED))


@pytest.mark.parametrize(
    "config",
    [
        aug.AugmentConfig(),
        aug.AugmentConfig(crop_scale=(0.08, 1.0), rotation_degrees=20.0, blur=True, p_blur=1.0),
    ],
    ids=["default", "all_ops"],
)
def test_output_shape_dtype_and_range(image, config):
    augment = aug.make_augment(config)
    for s in range(3):
        view = augment(image, seed=tf.constant([s, 1], tf.int64)).numpy()
        assert view.shape == (32, 32, 3) and view.dtype == np.float32
        assert np.all(np.isfinite(view))
        assert np.all(view >= LOW - 1e-5) and np.all(view <= HIGH + 1e-5)


def test_without_randomness_equals_normalisation(image):
    augment = aug.make_augment(aug.AugmentConfig(**NO_RANDOMNESS))
    np.testing.assert_allclose(augment(image), aug.normalize(image), atol=1e-5)


def test_unnormalised_output_in_unit_range(image):
    view = aug.make_augment(aug.AugmentConfig(normalize=False))(image, seed=SEED).numpy()
    assert view.min() >= 0.0 and view.max() <= 1.0


def test_grayscale_has_equal_channels(image):
    config = aug.AugmentConfig(**{**NO_RANDOMNESS, "p_grayscale": 1.0, "normalize": False})
    view = aug.make_augment(config)(image).numpy()
    np.testing.assert_allclose(view[..., 0], view[..., 1], atol=1e-6)
    np.testing.assert_allclose(view[..., 0], view[..., 2], atol=1e-6)


def test_flip_with_probability_one(image):
    config = aug.AugmentConfig(**{**NO_RANDOMNESS, "p_flip": 1.0})
    np.testing.assert_allclose(
        aug.make_augment(config)(image), aug.normalize(image)[:, ::-1], atol=1e-5
    )


def test_normalize_uint8_equals_float(image):
    np.testing.assert_allclose(
        aug.normalize(image), aug.normalize(tf.cast(image, tf.float32) / 255.0), atol=1e-6
    )


def test_random_resized_crop_keeps_size_at_small_scale(image):
    out = aug.random_resized_crop(aug.to_float(image), SEED, 32, scale=(0.08, 0.1))
    assert out.shape == (32, 32, 3)


def test_zero_rotation_and_tiny_blur_are_identity():
    x = tf.random.stateless_uniform((32, 32, 3), [1, 2])
    np.testing.assert_allclose(aug.random_rotation(x, 0.0, SEED), x, atol=1e-5)
    np.testing.assert_allclose(aug.gaussian_blur(x, 3, SEED, sigma_range=(0.1, 0.1)), x, atol=1e-5)


def test_blur_preserves_constant_image():
    x = tf.fill((32, 32, 3), 0.3)
    np.testing.assert_allclose(aug.gaussian_blur(x, 3, SEED), x, atol=1e-6)


def test_color_jitter_stays_in_unit_range():
    x = tf.random.stateless_uniform((32, 32, 3), [3, 4])
    out = aug.color_jitter(x, 1.0, SEED).numpy()
    assert out.min() >= 0.0 and out.max() <= 1.0 and not np.allclose(out, x)


def test_random_apply_respects_extreme_probabilities():
    x = tf.zeros(())
    assert aug.random_apply(lambda t: t + 1, 1.0, x, SEED) == 1.0
    assert aug.random_apply(lambda t: t + 1, 0.0, x, SEED) == 0.0


def test_works_inside_dataset_map(image):
    augment = aug.make_augment(aug.AugmentConfig())
    ds = tf.data.Dataset.from_tensors(image).repeat(2).map(augment)
    first, second = list(ds)
    assert first.shape == (32, 32, 3) and np.abs(first - second).max() > 1e-3


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"crop_scale": (0.0, 1.0)}, "crop_scale"),
        ({"crop_scale": (0.5, 0.2)}, "crop_scale"),
        ({"crop_ratio": (1.0,)}, "crop_ratio"),
        ({"p_flip": 1.5}, "p_flip"),
        ({"rotation_degrees": -1.0}, "rotation_degrees"),
        ({"blur_kernel_size": 4}, "blur_kernel_size"),
        ({"jitter_strength": -0.1}, "jitter_strength"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        aug.AugmentConfig(**kwargs)


def test_make_augment_rejects_wrong_config_type():
    with pytest.raises(TypeError, match="AugmentConfig"):
        aug.make_augment({"p_flip": 0.5})


def test_config_round_trips_through_json():
    import dataclasses
    import json

    config = aug.AugmentConfig(crop_scale=(0.08, 1.0), rotation_degrees=10.0)
    restored = aug.AugmentConfig(**json.loads(json.dumps(dataclasses.asdict(config))))
    assert restored == config and isinstance(restored.crop_scale, tuple)
