"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22), eq. (A1),
after Chen et al. (2020), eq. (1): for the 2N views of N images,

    ℓ(i, j) = −log[ exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ) ],

with ``sim`` the cosine similarity and ``j`` the other view of ``i``'s image; the
loss is the mean of ℓ over all 2N anchors.
"""

from __future__ import annotations

import numbers

import tensorflow as tf


def nt_xent(
    z1: tf.Tensor, z2: tf.Tensor, temperature: float = 0.07
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """NT-Xent loss over the 2N views of a batch (paper eq. A1).

    Views are stacked as ``[z1; z2]``, so the positive of row ``i < N`` is row
    ``i + N`` and vice versa. The self-similarity of each anchor is *removed* from its
    logits row (not masked), leaving ``2N - 1`` candidates of which one is positive;
    ``argmax(logits, -1) == labels`` is the contrastive top-1 accuracy.

    Args:
        z1: projections of the first views; L2-normalised inside.
        z2: projections of the second views, same shape as ``z1``.
        temperature: τ > 0.

    Returns:
        ``(loss, logits, labels)``: the scalar mean loss (float32); cosine
        similarities / τ without the diagonal; the column index of each anchor's
        positive within its logits row.

    Shape:
        z1, z2 ``(N, D)``; logits ``(2N, 2N - 1)``; labels ``(2N,)`` int32.

    Raises:
        ValueError: on a non-positive temperature or mismatched / non-matrix inputs.
    """
    if isinstance(temperature, numbers.Number) and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}.")
    z1 = tf.cast(tf.convert_to_tensor(z1), tf.float32)
    z2 = tf.cast(tf.convert_to_tensor(z2), tf.float32)
    if z1.shape.rank != 2 or z2.shape.rank != 2:
        raise ValueError(
            f"z1 and z2 must be (batch, dim) matrices, got shapes {z1.shape} and {z2.shape}."
        )
    if not z1.shape.is_compatible_with(z2.shape):
        raise ValueError(f"z1 and z2 must have the same shape, got {z1.shape} and {z2.shape}.")

    n = tf.shape(z1)[0]
    z = tf.math.l2_normalize(tf.concat([z1, z2], axis=0), axis=1)
    similarity = tf.matmul(z, z, transpose_b=True) / tf.cast(temperature, tf.float32)
    off_diagonal = tf.logical_not(tf.eye(2 * n, dtype=tf.bool))
    logits = tf.reshape(tf.boolean_mask(similarity, off_diagonal), [2 * n, 2 * n - 1])
    # Partner of i < N is i + N, which sits one column left once column i is removed.
    first = tf.range(n, dtype=tf.int32)
    labels = tf.concat([first + n - 1, first], axis=0)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return loss, logits, labels
