"""The converged probe of bench.converged_probe: separable classes are separated at any
feature scale (standardisation), and overlapping ones reach the Bayes rate."""

import numpy as np
import pytest

from bench.converged_probe import converged_accuracy


def _blobs(rng, n, centres, scale):
    y = rng.integers(0, len(centres), n)
    x = (np.asarray(centres)[y] + rng.normal(size=(n, len(centres[0])))) * scale
    return x, y


@pytest.mark.parametrize("scale", [1.0, 1e-4])
def test_separable_classes_at_any_scale(scale):
    rng = np.random.default_rng(0)
    centres = [[8, 0, 0, 0], [0, 8, 0, 0], [0, 0, 8, 0]]
    (xtr, ytr), (xte, yte) = _blobs(rng, 600, centres, scale), _blobs(rng, 300, centres, scale)
    acc, ok = converged_accuracy(xtr, ytr, xte, yte, 3)
    assert ok and acc == 1.0


def test_overlapping_classes_reach_the_bayes_rate():
    # two unit Gaussians 2 apart along one axis: the best rule errs with Φ(-1) ≈ 15.9 %
    rng = np.random.default_rng(1)
    centres = [[-1, 0], [1, 0]]
    (xtr, ytr), (xte, yte) = _blobs(rng, 20000, centres, 1.0), _blobs(rng, 20000, centres, 1.0)
    acc, ok = converged_accuracy(xtr, ytr, xte, yte, 2)
    assert ok and acc == pytest.approx(1 - 0.1587, abs=0.01)
