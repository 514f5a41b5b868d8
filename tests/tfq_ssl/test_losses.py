import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np
import pytest
import tensorflow as tf

from tfq_ssl.losses import nt_xent


def reference_nt_xent(z1: np.ndarray, z2: np.ndarray, temperature: float) -> float:
    """Paper eq. A1 written out anchor by anchor."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        sims = np.array([z[i] @ z[k] / temperature for k in range(n2) if k != i])
        total += -(z[i] @ z[j] / temperature) + np.log(np.sum(np.exp(sims)))
    return total / n2


@pytest.mark.parametrize("n,dim,temperature", [(2, 3, 0.07), (5, 8, 0.5), (8, 4, 1.0)])
def test_matches_numpy_reference(n, dim, temperature):
    rng = np.random.default_rng(n * dim)
    z1 = rng.normal(size=(n, dim)).astype(np.float32)
    z2 = rng.normal(size=(n, dim)).astype(np.float32)
    loss, _, _ = nt_xent(z1, z2, temperature)
    np.testing.assert_allclose(
        loss.numpy(), reference_nt_xent(z1, z2, temperature), rtol=1e-5, atol=1e-5
    )


def test_identical_embeddings_give_closed_form():
    n = 6
    z = np.ones((n, 4), np.float32)
    loss, _, _ = nt_xent(z, z, temperature=0.1)
    np.testing.assert_allclose(loss.numpy(), -np.log(1.0 / (2 * n - 1)), rtol=1e-6)


def test_logits_and_labels_point_at_partners():
    n = 4
    z = np.eye(n, 6, dtype=np.float32)  # orthogonal images: each view matches only its partner
    loss, logits, labels = nt_xent(z, z, temperature=0.1)
    assert logits.shape == (2 * n, 2 * n - 1)
    assert labels.dtype == tf.int32
    np.testing.assert_array_equal(tf.argmax(logits, axis=1, output_type=tf.int32), labels)
    np.testing.assert_array_equal(labels, [3, 4, 5, 6, 0, 1, 2, 3])
    assert loss.numpy() < 1e-3


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_rejects_non_positive_temperature(temperature):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nt_xent(np.ones((2, 3)), np.ones((2, 3)), temperature)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(np.ones((2, 3)), np.ones((3, 3)))


def test_rejects_non_matrix():
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        nt_xent(np.ones((2, 3, 1)), np.ones((2, 3, 1)))


def test_gradient_is_finite_and_nonzero():
    rng = np.random.default_rng(0)
    z1 = tf.Variable(rng.normal(size=(4, 5)).astype(np.float32))
    z2 = tf.Variable(rng.normal(size=(4, 5)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss, _, _ = nt_xent(z1, z2, 0.07)
    grads = tape.gradient(loss, [z1, z2])
    for g in grads:
        assert np.all(np.isfinite(g.numpy()))
        assert np.any(g.numpy() != 0)


def test_works_inside_tf_function_with_unknown_batch():
    fn = tf.function(
        lambda a, b: nt_xent(a, b, 0.5)[0],
        input_signature=[tf.TensorSpec([None, 3], tf.float32)] * 2,
    )
    rng = np.random.default_rng(1)
    z1, z2 = rng.normal(size=(2, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(fn(z1, z2).numpy(), reference_nt_xent(z1, z2, 0.5), rtol=1e-5)


def test_swapping_the_views_gives_the_same_loss():
    """The two views play the same role: [z2; z1] only renumbers the 2N anchors."""
    rng = np.random.default_rng(3)
    z1 = rng.normal(size=(6, 5)).astype(np.float32)
    z2 = rng.normal(size=(6, 5)).astype(np.float32)
    loss12, logits12, labels12 = nt_xent(z1, z2, 0.07)
    loss21, logits21, labels21 = nt_xent(z2, z1, 0.07)
    np.testing.assert_allclose(loss21.numpy(), loss12.numpy(), rtol=1e-6)
    # Anchor i of one order is anchor i ± N of the other: the same candidates (in
    # another column order) and the same positive.
    rows12, rows21 = logits12.numpy(), np.roll(logits21.numpy(), 6, axis=0)
    np.testing.assert_allclose(np.sort(rows21, axis=1), np.sort(rows12, axis=1), rtol=1e-6)
    np.testing.assert_allclose(rows21[np.arange(12), np.roll(labels21.numpy(), 6)],
                               rows12[np.arange(12), labels12.numpy()], rtol=1e-6)


@pytest.mark.parametrize("z1, z2", [
    ([[1.0, 0.0]], [[1.0, 0.0]]),    # the views agree
    ([[1.0, 0.0]], [[-1.0, 0.0]]),   # the views are opposite
    ([[3.0, 4.0]], [[0.0, -2.0]]),
])
def test_one_pair_has_zero_loss(z1, z2):
    """N = 1: each anchor's only candidate is its positive, so its softmax is 1 whatever
    the views: ℓ = −log(e^{s/τ} / e^{s/τ}) = 0 exactly, with zero gradient (one pair
    carries no contrastive signal) and top-1 accuracy 1."""
    z1, z2 = tf.Variable(z1), tf.Variable(z2)
    with tf.GradientTape() as tape:
        loss, logits, labels = nt_xent(z1, z2, 0.07)
    assert logits.shape == (2, 1)
    np.testing.assert_array_equal(labels, [0, 0])
    assert loss.numpy() == 0.0
    assert reference_nt_xent(z1.numpy(), z2.numpy(), 0.07) == 0.0
    for g in tape.gradient(loss, [z1, z2]):
        np.testing.assert_array_equal(g.numpy(), 0.0)
