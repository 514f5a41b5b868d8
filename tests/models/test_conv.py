"""models.conv: the ResNet's convolution, with gradients computed by forward convolutions
and matrix products instead of TensorFlow's Conv2DBackpropInput (issue: AVX2 speed)."""

import os
import subprocess
import sys

import tfq_ssl  # noqa: F401
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from models.conv import Conv2D, conv2d_same, conv2d_same_dense, trim_same
from models.resnet import resnet

# (spatial size, kernel, stride): 1×1, 2×2 and 8×8 maps as in the issue, both strides,
# the kernels the ResNet uses (7×7 stem, 3×3, 1×1 projection) and odd/even corner cases.
CASES = [(1, 3, 1), (2, 3, 1), (8, 3, 1), (1, 3, 2), (2, 3, 2), (8, 3, 2), (8, 1, 2),
         (2, 1, 2), (1, 1, 1), (5, 3, 2), (7, 7, 2), (32, 7, 2), (6, 4, 2), (5, 2, 1)]


def _grads(conv, x, kernel, stride):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel, stride)
        # A loss whose output gradient differs at every position (y² and a fixed pattern).
        weights = tf.reshape(tf.cos(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y))
        loss = tf.reduce_sum(y * weights + 0.5 * y * y)
    return y, tape.gradient(loss, [x, kernel])


def _reference(x, kernel, stride):
    return tf.nn.conv2d(x, kernel, stride, "SAME")


@pytest.mark.parametrize("fast,size,k,stride",
                         [(conv2d_same, *case) for case in CASES]
                         + [(conv2d_same_dense, *case) for case in CASES if case[0] <= 2])
def test_value_and_gradients_match_tf_conv2d(fast, size, k, stride):
    x = tf.random.normal((4, size, size, 6))
    kernel = tf.random.normal((k, k, 6, 5))
    y_ref, (dx_ref, dk_ref) = _grads(_reference, x, kernel, stride)
    y, (dx, dk) = _grads(fast, x, kernel, stride)
    scale = lambda t: float(tf.reduce_max(tf.abs(t)))  # noqa: E731
    np.testing.assert_allclose(y, y_ref, atol=1e-5 * scale(y_ref))
    np.testing.assert_allclose(dx, dx_ref, atol=1e-5 * scale(dx_ref))
    np.testing.assert_allclose(dk, dk_ref, atol=1e-5 * scale(dk_ref))


def test_trimming_drops_only_padding_taps():
    # At 1×1 a 3×3 SAME convolution only ever uses its centre tap.
    (rows, cols), pads = trim_same((1, 1), (3, 3), 1)
    assert (rows, cols, pads) == (slice(1, 2), slice(1, 2), ((0, 0), (0, 0)))
    # 2×2 → 1×1 at stride 2: taps 0 and 1 of each axis, no padding left.
    assert trim_same((2, 2), (3, 3), 2) == ((slice(0, 2), slice(0, 2)), ((0, 0), (0, 0)))
    # 8×8: every tap meets the input somewhere; the padding stays SAME's.
    assert trim_same((8, 8), (3, 3), 1) == ((slice(0, 3), slice(0, 3)), ((1, 1), (1, 1)))


def test_layer_refuses_what_it_does_not_implement():
    with pytest.raises(ValueError, match="padding='same'"):
        Conv2D(4, 3, padding="valid")


def test_resnet_weights_are_those_of_the_keras_conv():
    """Same variables, names and shapes as tf_keras' Conv2D: old checkpoints load."""
    ours = resnet(10, "imagenet", input_shape=(32, 32, 3))
    assert any(isinstance(layer, Conv2D) for layer in ours.layers)
    reference = tf_keras.models.clone_model(
        ours, clone_function=lambda layer: (
            tf_keras.layers.Conv2D.from_config(layer.get_config())
            if isinstance(layer, Conv2D) else layer.__class__.from_config(layer.get_config())))
    assert [v.name for v in ours.weights] == [v.name for v in reference.weights]
    reference.set_weights(ours.get_weights())
    images = tf.random.normal((3, 32, 32, 3))
    np.testing.assert_allclose(ours(images, training=False), reference(images, training=False),
                               rtol=1e-4, atol=1e-5)


def _env_after_import(env: dict[str, str]) -> str:
    code = "import tfq_ssl, os; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', '<unset>'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_import_turns_onednn_on_unless_the_user_chose():
    base = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    import platform
    expected = "1" if platform.machine().lower() in ("x86_64", "amd64") else "<unset>"
    assert _env_after_import(base) == expected
    for choice in ("0", "1"):
        assert _env_after_import({**base, "TF_ENABLE_ONEDNN_OPTS": choice}) == choice
