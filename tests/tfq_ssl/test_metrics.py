import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np
import pytest
import tensorflow as tf

from tfq_ssl.metrics import hilbert_schmidt_distance, hilbert_schmidt_metrics


def random_states(rng, n, width):
    psi = rng.normal(size=(n, 2**width)) + 1j * rng.normal(size=(n, 2**width))
    return (psi / np.linalg.norm(psi, axis=1, keepdims=True)).astype(np.complex64)


def reference_metrics(s1, s2):
    """Paper eqs. 3-4 with explicit density matrices."""
    s1, s2 = s1.astype(np.complex128), s2.astype(np.complex128)
    states = np.concatenate([s1, s2])
    projectors = np.einsum("ni,nj->nij", states, states.conj())
    n = len(s1)
    out = {"hs_distance": [], "tr_rho2": [], "tr_sigma2": [], "tr_rho_sigma": []}
    for i in range(n):
        rho = (projectors[i] + projectors[i + n]) / 2
        rest = [k for k in range(2 * n) if k not in (i, i + n)]
        sigma = projectors[rest].mean(axis=0)
        out["hs_distance"].append(np.trace((rho - sigma) @ (rho - sigma)).real)
        out["tr_rho2"].append(np.trace(rho @ rho).real)
        out["tr_sigma2"].append(np.trace(sigma @ sigma).real)
        out["tr_rho_sigma"].append(np.trace(rho @ sigma).real)
    return {k: float(np.mean(v)) for k, v in out.items()}


@pytest.mark.parametrize("n,width", [(4, 3), (2, 1), (5, 2)])
def test_matches_density_matrix_reference(n, width):
    rng = np.random.default_rng(10 * n + width)
    s1, s2 = random_states(rng, n, width), random_states(rng, n, width)
    got = hilbert_schmidt_metrics(s1, s2)
    want = reference_metrics(s1, s2)
    assert set(got) == set(want)
    for key in want:
        assert got[key].dtype == tf.float32
        np.testing.assert_allclose(got[key].numpy(), want[key], atol=1e-5, err_msg=key)


def test_distance_identity():
    rng = np.random.default_rng(3)
    m = hilbert_schmidt_metrics(random_states(rng, 4, 3), random_states(rng, 4, 3))
    np.testing.assert_allclose(
        m["hs_distance"], m["tr_rho2"] + m["tr_sigma2"] - 2 * m["tr_rho_sigma"], atol=1e-6
    )


def test_identical_views_are_pure():
    rng = np.random.default_rng(4)
    s = random_states(rng, 4, 3)
    np.testing.assert_allclose(hilbert_schmidt_metrics(s, s)["tr_rho2"], 1.0, atol=1e-6)


def test_orthogonal_images_are_maximally_separated():
    # Pair i in basis state |i>: tr ρ² = 1, σ is uniform over the other N-1 images.
    n = 4
    s = np.eye(n, 8, dtype=np.complex64)
    m = hilbert_schmidt_metrics(s, s)
    np.testing.assert_allclose(m["tr_rho_sigma"], 0.0, atol=1e-7)
    np.testing.assert_allclose(m["tr_sigma2"], 1.0 / (n - 1), atol=1e-6)
    np.testing.assert_allclose(m["hs_distance"], 1.0 + 1.0 / (n - 1), atol=1e-6)


def test_accepts_ragged_states():
    rng = np.random.default_rng(5)
    s1, s2 = random_states(rng, 3, 2), random_states(rng, 3, 2)
    got = hilbert_schmidt_metrics(tf.RaggedTensor.from_tensor(s1), tf.RaggedTensor.from_tensor(s2))
    np.testing.assert_allclose(
        got["hs_distance"], reference_metrics(s1, s2)["hs_distance"], atol=1e-5
    )


def test_rejects_single_pair():
    s = np.ones((1, 2), np.complex64) / np.sqrt(2)
    with pytest.raises(ValueError, match="at least 2 pairs"):
        hilbert_schmidt_metrics(s, s)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        hilbert_schmidt_metrics(np.ones((2, 4), np.complex64), np.ones((3, 4), np.complex64))


def test_hilbert_schmidt_distance_of_density_matrices():
    rho = np.diag([1.0, 0.0]).astype(np.complex64)
    sigma = np.full((2, 2), 0.5, np.complex64)  # |+><+|
    np.testing.assert_allclose(hilbert_schmidt_distance(rho, sigma), 1.0, atol=1e-6)
    np.testing.assert_allclose(hilbert_schmidt_distance(rho, rho), 0.0, atol=1e-7)
