"""Device noise as Pauli trajectories on any exact engine (``model.noise_from``).

:class:`PauliTrajectories` wraps an exact executor of the frame circuit that
:func:`tfq_ssl.quantum.device_noise.pauli_frame` builds: every call draws, per row and
trajectory, which Pauli each depolarising site applies, runs the exact engine on
those rows, averages the trajectories and applies the readout confusion. Gradients
are those of the exact engine on each trajectory, so their mean is an unbiased
estimate of the gradient of the noisy expectation (the draws do not depend on the
parameters).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfq_ssl.quantum.executor import Executor

__all__ = ["PauliTrajectories"]


class PauliTrajectories(Executor):
    """⟨Z_k⟩ under a device's noise, as the mean of ``trajectories`` Pauli trajectories.

    Args:
        inner: an exact executor of the frame circuit, whose input symbols are the
            data-loading symbols followed by the frame's ``[α_0, β_0, ...]``.
        probs: depolarising probability of each site of the frame.
        readout_scale, readout_offset: measured ⟨Z_k⟩ = scale_k·⟨Z_k⟩ + offset_k.
        trajectories: trajectories per row and call.
        seed: the op seed of the draws (with the global seed, a reproducible stream).
    """

    def __init__(self, inner: Executor, probs: np.ndarray, readout_scale: np.ndarray,
                 readout_offset: np.ndarray, trajectories: int = 1, seed: int = 0) -> None:
        self.inner = inner
        self.circuit = inner.circuit
        probs = np.asarray(probs, dtype=np.float64)
        # Cumulative thresholds of (I, X, Y, Z) per site: u below the first is I.
        self._thresholds = tf.constant(
            np.stack([1 - probs, 1 - probs * 2 / 3, 1 - probs / 3], axis=0), tf.float32)
        self._sites = len(probs)
        self._scale = tf.constant(readout_scale, tf.float32)
        self._offset = tf.constant(readout_offset, tf.float32)
        self.trajectories = int(trajectories)
        self._seed = int(seed)

    def _frame(self, rows: tf.Tensor) -> tf.Tensor:
        u = tf.random.uniform([rows, self._sites], seed=self._seed)
        k = tf.add_n([tf.cast(u >= t, tf.int32) for t in tf.unstack(self._thresholds)])
        alpha = tf.cast((k == 1) | (k == 2), tf.float32) * math.pi  # X, or Y = Z·X
        beta = tf.cast((k == 2) | (k == 3), tf.float32) * math.pi   # Z, or Y
        return tf.reshape(tf.stack([alpha, beta], axis=-1), [rows, 2 * self._sites])

    def expectation_z(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(angles)[0]
        rows = tf.repeat(angles, self.trajectories, axis=0)
        frame = tf.stop_gradient(self._frame(tf.shape(rows)[0]))
        z = self.inner.expectation_z(tf.concat([rows, frame], axis=1), weights)
        z = tf.reduce_mean(tf.reshape(z, [batch, self.trajectories, -1]), axis=1)
        return z * self._scale + self._offset

    def state(self, angles: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """The noise-free states (every site the identity)."""
        frame = tf.zeros([tf.shape(angles)[0], 2 * self._sites], angles.dtype)
        return self.inner.state(tf.concat([angles, frame], axis=1), weights)
