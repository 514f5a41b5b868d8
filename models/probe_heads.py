"""Linear heads of the probe other than the paper's Adam head (``ProbeConfig.head``).

The paper's probe fits Adam on the raw features for 100 epochs. A feature's scale then
decides how fast its weight moves, so features with a tiny spread (the classical
network's LeakyReLU outputs; docs/results) are underfitted. Two other heads make the
probe a variable rather than a hidden choice:

- ``standardized``: the same Adam head on features scaled by the training split's mean
  and standard deviation.
- ``lbfgs``: multinomial logistic regression fitted to convergence (L-BFGS, L2 1e-6) on
  standardised features: the best a linear head can do on these features, up to the
  penalty.

Both store a head that acts on the raw features (the scaling folded into its weights),
so every consumer of a probe head (confusion matrices, the device evaluation) uses it
unchanged.

:func:`summarise` turns any head's per-epoch accuracies and test logits into the stored
result (final and best epoch, per-class accuracy, confusion matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def standardizer(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of the training features (std floored at 1e-12)."""
    x = np.asarray(train_x, np.float64)
    return x.mean(axis=0), np.maximum(x.std(axis=0), 1e-12)


def fold_standardization(kernel: np.ndarray, bias: np.ndarray, mean: np.ndarray,
                         std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights on raw features equal to ``kernel``/``bias`` on standardised ones:
    ((x − μ)/σ)·K + b = x·(K/σ) + (b − (μ/σ)·K)."""
    scaled = kernel / std[:, None]
    return scaled.astype(np.float32), (bias - mean @ scaled).astype(np.float32)


def fit_lbfgs(x: np.ndarray, y: np.ndarray, classes: int, l2: float = 1e-6,
              max_iter: int = 2000) -> tuple[np.ndarray, np.ndarray, bool]:
    """Multinomial logistic regression by L-BFGS: mean cross-entropy + l2·‖K‖².

    Args:
        x: ``(n, d)`` (standardised) features.
        y: ``(n,)`` integer labels in ``[0, classes)``.
        classes: number of classes.
        l2: penalty on the kernel (not the bias).
        max_iter: L-BFGS iterations at most.

    Returns:
        ``(kernel (d, classes), bias (classes,), converged)``.
    """
    from scipy.optimize import minimize  # noqa: PLC0415
    from scipy.special import logsumexp  # noqa: PLC0415

    x = np.asarray(x, np.float64)
    d = x.shape[1]
    onehot = np.eye(classes)[np.asarray(y)]

    def loss_and_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
        kernel, bias = p[:d * classes].reshape(d, classes), p[d * classes:]
        logits = x @ kernel + bias
        lse = logsumexp(logits, axis=1)
        g = (np.exp(logits - lse[:, None]) - onehot) / len(onehot)
        loss = (lse - (logits * onehot).sum(1)).mean() + l2 * (kernel ** 2).sum()
        return loss, np.concatenate([(x.T @ g + 2 * l2 * kernel).ravel(), g.sum(0)])

    res = minimize(loss_and_grad, np.zeros(d * classes + classes), jac=True,
                   method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x[:d * classes].reshape(d, classes), res.x[d * classes:], bool(res.success)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def summarise(history: dict[str, list[float]], labels: np.ndarray, logits: np.ndarray,
              names: Sequence[str]) -> dict[str, Any]:
    """Final/best test accuracy, per-class accuracy and confusion matrix."""
    accuracies = [float(a) for a in history["val_accuracy"]]
    matrix = confusion_matrix(labels, logits.argmax(axis=1), len(names))
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {
        "final_test_accuracy": accuracies[-1],
        "best_test_accuracy": max(accuracies),
        "best_epoch": int(np.argmax(accuracies)) + 1,
        "test_accuracy_per_epoch": accuracies,
        "train_accuracy_per_epoch": [float(a) for a in history["accuracy"]],
        "per_class_accuracy": dict(zip(names, per_class.round(4).tolist())),
        "confusion_matrix": matrix.tolist(),
        "class_names": list(names),
    }
