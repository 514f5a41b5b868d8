"""Hilbert–Schmidt metrics of the quantum representations.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), eqs. (3)–(4):
for a positive pair, ρ is the mixture of its two views' states and σ the mixture of
the states of all other images in the batch; the Hilbert–Schmidt distance

    D_HS(ρ, σ) = tr[(ρ − σ)²] = tr ρ² + tr σ² − 2 tr ρσ

measures how well the representation separates the pair from the rest.

For pure states tr(|a⟩⟨a| |b⟩⟨b|) = |⟨a|b⟩|², so every trace is a sum of entries of
the 2N × 2N Gram matrix of overlaps: no 2^W × 2^W density matrix is ever built.
"""

from __future__ import annotations

import tensorflow as tf


def hilbert_schmidt_distance(rho: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """``tr[(ρ − σ)²]`` of two Hermitian matrices (paper eq. 3).

    Args:
        rho: density matrix (or a batch of them).
        sigma: density matrix of the same shape.

    Returns:
        The real distance, float32.

    Shape:
        ``(..., d, d)`` → ``(...)``.
    """
    diff = tf.cast(rho, tf.complex128) - tf.cast(sigma, tf.complex128)
    # tr(A²) = Σ_ij A_ij A_ji = Σ_ij |A_ij|² for Hermitian A.
    return tf.cast(tf.reduce_sum(tf.abs(diff) ** 2, axis=[-2, -1]), tf.float32)


def _as_states(states, name: str) -> tf.Tensor:
    if isinstance(states, tf.RaggedTensor):  # tfq.layers.State returns ragged rows
        states = states.to_tensor()
    states = tf.convert_to_tensor(states)
    if states.shape.rank != 2:
        raise ValueError(
            f"{name} must be a (N, 2^W) matrix of statevectors, got shape {states.shape}."
        )
    return tf.cast(states, tf.complex128)


def hilbert_schmidt_metrics(states1: tf.Tensor, states2: tf.Tensor) -> dict[str, tf.Tensor]:
    """Batch-mean Hilbert–Schmidt distance and purities (paper eqs. 3–4).

    For pair ``i`` with view states ``|a⟩ = states1[i]``, ``|b⟩ = states2[i]``:
    ``ρ_i = (|a⟩⟨a| + |b⟩⟨b|)/2`` and ``σ_i`` the mean of ``|c⟩⟨c|`` over the other
    ``2N − 2`` states. With ``g_xy = |⟨x|y⟩|²``, ``R_x = Σ_y g_xy`` and ``T = Σ_xy g_xy``:

    - ``tr ρ² = (g_aa + g_bb + 2 g_ab) / 4``
    - ``tr ρσ = (R_a + R_b − g_aa − g_bb − 2 g_ab) / (2 (2N − 2))``
    - ``tr σ² = (T − 2 (R_a + R_b) + g_aa + g_bb + 2 g_ab) / (2N − 2)²``

    Computed in double precision; the states are used as given (TFQ statevectors are
    normalised).

    Args:
        states1: statevectors of the first views (complex; a ragged tensor from
            ``tfq.layers.State`` is accepted).
        states2: statevectors of the second views, same shape.

    Returns:
        ``{"hs_distance", "tr_rho2", "tr_sigma2", "tr_rho_sigma"}``: float32 scalars,
        each the mean over the N pairs.

    Shape:
        states1, states2 ``(N, 2^W)`` with ``N >= 2``.

    Raises:
        ValueError: on mismatched shapes or fewer than two pairs.
    """
    s1 = _as_states(states1, "states1")
    s2 = _as_states(states2, "states2")
    if not s1.shape.is_compatible_with(s2.shape):
        raise ValueError(
            f"states1 and states2 must have the same shape, got {s1.shape} and {s2.shape}."
        )
    if s1.shape[0] is not None and s1.shape[0] < 2:
        raise ValueError(f"need at least 2 pairs so that σ is defined, got N={s1.shape[0]}.")

    n = tf.shape(s1)[0]
    states = tf.concat([s1, s2], axis=0)
    gram = tf.abs(tf.matmul(states, states, adjoint_b=True)) ** 2  # g_xy, (2N, 2N)
    rows = tf.reduce_sum(gram, axis=1)
    total = tf.reduce_sum(rows)
    diag = tf.linalg.diag_part(gram)
    g_aa, g_bb = diag[:n], diag[n:]
    g_ab = tf.linalg.diag_part(gram[:n, n:])
    r_ab = rows[:n] + rows[n:]
    pair = g_aa + g_bb + 2.0 * g_ab
    others = tf.cast(2 * n - 2, tf.float64)

    tr_rho2 = pair / 4.0
    tr_rho_sigma = (r_ab - pair) / (2.0 * others)
    tr_sigma2 = (total - 2.0 * r_ab + pair) / others**2
    distance = tr_rho2 + tr_sigma2 - 2.0 * tr_rho_sigma
    values = {
        "hs_distance": distance,
        "tr_rho2": tr_rho2,
        "tr_sigma2": tr_sigma2,
        "tr_rho_sigma": tr_rho_sigma,
    }
    return {key: tf.cast(tf.reduce_mean(v), tf.float32) for key, v in values.items()}
