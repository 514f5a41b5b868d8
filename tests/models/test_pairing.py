"""Seed s of every variant sees the same batches and starts from the same ResNet:
only the representation network differs (what the paired comparison relies on)."""

import tfq_ssl  # noqa: F401
import numpy as np
import pytest
import tf_keras

from models import simclr_fit as pretraining
from models.simclr import build_simclr
from tests.helpers import generated_images, tiny_config
from tfq_ssl import config_io


def _batches(config, monkeypatch, n=3):
    monkeypatch.setattr(pretraining, "load_cifar10", lambda split, **kw: generated_images(48))
    tf_keras.utils.set_random_seed(config.train.seed)
    ds = pretraining.training_data(config)
    return [(v1.numpy(), v2.numpy(), y.numpy()) for (v1, v2), y in ds.take(n)]


def test_variants_with_one_seed_get_identical_batches(monkeypatch):
    quantum = config_io.override(tiny_config("quantum"), ["train.seed=3", "data.shuffle_buffer=64"])
    classical = config_io.override(tiny_config("classical"), ["train.seed=3", "data.shuffle_buffer=64"])
    other_seed = config_io.override(quantum, ["train.seed=4"])
    a, b, c = (_batches(cfg, monkeypatch) for cfg in (quantum, classical, other_seed))
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0][0], c[0][0])


def test_variants_with_one_seed_start_from_the_same_resnet():
    def backbone(representation):
        config = tiny_config(representation)
        tf_keras.utils.set_random_seed(config.train.seed)
        model = build_simclr(config.model)
        return [w.numpy() for w in model.encoder.get_layer("backbone").weights]

    for u, v in zip(backbone("quantum"), backbone("classical")):
        np.testing.assert_array_equal(u, v)


@pytest.mark.slow
def test_data_seed_separates_the_data_stream_from_the_initialisation(monkeypatch, tmp_path):
    """pretrain with train.data_seed=d sees the batches of a run seeded d and starts
    from the weights of a run seeded train.seed (what the variance study relies on)."""
    monkeypatch.setattr(pretraining, "load_cifar10", lambda split, **kw: generated_images(48))
    monkeypatch.setattr(pretraining, "check_available", lambda **kw: None)  # as if TFDS had it
    seen = {}
    real_data, real_build = pretraining.training_data, pretraining.build_simclr

    def data(config, skip_batches=0):
        ds = real_data(config, skip_batches)
        if skip_batches == 0 and "batch" not in seen:
            seen["batch"] = next(iter(ds))[0][0].numpy()
        return ds

    def build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        seen.setdefault("weights", [w.numpy() for w in model.weights])
        return model

    monkeypatch.setattr(pretraining, "training_data", data)
    monkeypatch.setattr(pretraining, "build_simclr", build)

    def run(name, *overrides):
        seen.clear()
        config = config_io.override(tiny_config("classical", steps=1, save_every=1),
                                     ["data.shuffle_buffer=64", "train.hs_metrics=false",
                                      *overrides])
        pretraining.pretrain(config, str(tmp_path / name), verbose=0)
        return seen["batch"], seen["weights"]

    mixed_batch, mixed_init = run("mixed", "train.seed=0", "train.data_seed=1")
    data_batch, data_init = run("seed1", "train.seed=1")
    init_batch, init_init = run("seed0", "train.seed=0")
    np.testing.assert_array_equal(mixed_batch, data_batch)
    for u, v in zip(mixed_init, init_init):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(mixed_batch, init_batch)
    assert any(not np.array_equal(u, v) for u, v in zip(mixed_init, data_init))
