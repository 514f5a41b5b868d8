"""Options that reproduce what the paper's PyTorch code computes (docs/parity-audit.md),
each checked against PyTorch's documented behaviour and failing on the other convention:
``model.init="torch"`` (``kaiming_normal_(mode="fan_out", nonlinearity="relu")``
convolutions, ``nn.Linear``'s default init), ``model.head_bn="torch"`` (``BatchNorm1d``
defaults) and ``model.bn_per_view`` (one forward pass per view)."""

import tfq_ssl  # noqa: F401
import dataclasses
import math
import os

import numpy as np
import pytest

from models.simclr import build_simclr
from tests.helpers import ROOT, tiny_config
from tfq_ssl import config as config_lib
from tfq_ssl import config_io
from tfq_ssl.errors import ConfigError


def _weights(init, representation="classical"):
    config = dataclasses.replace(tiny_config(representation).model, init=init, width=8,
                                 resnet_depth=18)
    model = build_simclr(config)
    return {v.name: v.numpy() for v in model.weights}


def _one(weights, fragment):
    [name] = [n for n in weights if fragment in n]
    return weights[name]


@pytest.fixture(scope="module")
def torch_weights():
    return _weights("torch")


@pytest.fixture(scope="module")
def keras_weights():
    return _weights("keras")


def _within(w, fan_in):
    return np.abs(w).max() <= 1 / math.sqrt(fan_in) and np.all(w != 0)


def test_linear_layers_draw_weights_and_biases_from_pytorchs_default(torch_weights, keras_weights):
    for fragment, fan_in in (("compression/bias", 512), ("dense_0/kernel", 8),
                             ("dense_0/bias", 8), ("proj_dense_2/kernel", 8)):
        assert _within(_one(torch_weights, fragment), fan_in), fragment
    kernel = _one(torch_weights, "compression/kernel")  # 4,096 draws of U(±1/√512)
    bound = 1 / math.sqrt(512)
    assert _within(kernel, 512) and abs(kernel.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(_one(keras_weights, "compression/kernel")).max() > 2 * bound  # glorot: 2.4×
    assert not np.any(_one(keras_weights, "compression/bias"))  # Keras: zero biases


def _fraction_beyond_two_std(w, std):
    return float(np.mean(np.abs(w) > 2 * std))


def test_convolutions_are_kaiming_normal_fan_out(torch_weights, keras_weights):
    stem = _one(torch_weights, "stem_conv/kernel")  # 7 × 7 × 3 → 64
    std = math.sqrt(2 / (7 * 7 * 64))
    assert abs(stem.std() - std) < 0.03 * std
    # untruncated: 4.55 % of draws lie beyond 2σ (a truncated normal has none)
    assert 0.035 < _fraction_beyond_two_std(stem, std) < 0.056
    keras_stem = _one(keras_weights, "stem_conv/kernel")  # he_normal: fan_in = 7·7·3
    assert abs(keras_stem.std() - std) > std


def test_init_is_validated_and_old_configs_load_as_keras():
    with pytest.raises(ConfigError, match="model.init must be one of"):
        config_lib.check_model(dataclasses.replace(tiny_config().model, init="jax"))
    # a run's config.json from before the field existed: complete, and trained as Keras inits
    old = config_io.load_json(os.path.join(ROOT, "tests", "data", "config_2026-11.json"))
    assert old.model.init == "keras"


def test_head_batchnorm_follows_the_chosen_convention():
    from models.simclr import projection_head
    for bn, (momentum, epsilon) in (("keras", (0.99, 1e-3)), ("torch", (0.9, 1e-5))):
        layer = projection_head(8, bn=bn).get_layer("proj_bn")
        assert (layer.momentum, layer.epsilon) == (momentum, epsilon)


@pytest.mark.parametrize("per_view", [False, True])
def test_views_share_batchnorm_statistics_only_when_passed_together(per_view):
    """bn_per_view=True normalises each view's batch on its own (the paper's code: one
    forward per view); False normalises the 2N images as one batch."""
    import tensorflow as tf
    from tfq_ssl.losses import nt_xent

    config = dataclasses.replace(tiny_config("classical").model, bn_per_view=per_view)
    model = build_simclr(config)
    rng = np.random.default_rng(0)
    v1, v2 = (tf.constant(rng.normal(size=(6, 32, 32, 3)), tf.float32) for _ in range(2))
    loss, _ = model._contrastive(((v1, v2 * 3.0 + 1.0), None), training=True)
    separate = nt_xent(model(v1, training=True), model(v2 * 3.0 + 1.0, training=True), 0.07)[0]
    z = model(tf.concat([v1, v2 * 3.0 + 1.0], 0), training=True)
    together = nt_xent(z[:6], z[6:], 0.07)[0]
    assert abs(float(separate) - float(together)) > 1e-3  # the two conventions differ here
    want = separate if per_view else together
    np.testing.assert_allclose(float(loss), float(want), rtol=1e-5)
