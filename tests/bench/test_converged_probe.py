"""The converged probe of bench.converged_probe: separable classes are separated at any
feature scale (standardisation), and overlapping ones reach the Bayes rate."""

import os

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


@pytest.mark.parametrize("spec", ["all", "2,4"])
def test_more_than_one_checkpoint_is_one_clear_error(spec, tmp_path, capsys):
    from bench import converged_probe
    from tests.helpers import tiny_config
    from tfq_ssl import config_io
    from tfq_ssl import rundir

    run = tmp_path / "run"
    os.makedirs(run / rundir.CHECKPOINT_DIR)
    config_io.save_json(tiny_config("classical"), rundir.config_path(str(run)))
    for step in (2, 4):  # two complete-looking checkpoints: select_checkpoints finds them
        for suffix in (".index", ".data-00000-of-00001"):
            (run / rundir.CHECKPOINT_DIR / f"step-{step:05d}{suffix}").write_bytes(b"")
    assert rundir.list_checkpoints(str(run)) == [2, 4]
    assert converged_probe.main(["--run", str(run), "--checkpoint", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"bench.converged_probe: error: --checkpoint takes one step or latest, got {spec!r}."
