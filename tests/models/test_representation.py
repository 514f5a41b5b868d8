import tfq_ssl  # noqa: F401
import numpy as np
import pytest
import tensorflow as tf

from models.representation import classical_representation, representation_network
from tfq_ssl.quantum.layer import QuantumRepresentation


def test_classical_parameter_count_matches_paper():
    net = classical_representation(8, 2)
    net.build((None, 8))
    assert net.count_params() == 144


def test_classical_shape_and_leaky_relu():
    net = classical_representation(4, 3)
    out = net(tf.random.normal((5, 4)))
    assert out.shape == (5, 4)
    assert sum(isinstance(l, tf.keras.layers.LeakyReLU) or "leaky" in l.name for l in net.layers) == 3


@pytest.mark.parametrize("kind", ["quantum", "classical", "identity"])
def test_factory_kinds_keep_width(kind):
    net = representation_network(kind, 4, 2)
    x = tf.random.uniform((3, 4), 0, np.pi)
    assert net(x).shape == (3, 4)
    if kind == "identity":
        np.testing.assert_allclose(net(x).numpy(), x.numpy())


def test_factory_passes_quantum_options():
    net = representation_network("quantum", 3, 1, ansatz="all_to_all", differentiator="parameter_shift", shots=10)
    assert isinstance(net, QuantumRepresentation)
    assert (net.ansatz, net.differentiator, net.shots) == ("all_to_all", "parameter_shift", 10)


def test_factory_errors():
    with pytest.raises(ValueError, match="kind"):
        representation_network("tensor", 4, 2)
    with pytest.raises(ValueError, match="ansatz"):
        representation_network("classical", 4, 2, ansatz="ring")
    with pytest.raises(ValueError, match="width"):
        representation_network("classical", 0, 2)


@pytest.mark.parametrize("activation,reference", [
    ("leaky_relu", lambda h: np.where(h > 0, h, 0.01 * h)),
    ("cos", np.cos),
    ("tanh", np.tanh),
])
def test_classical_activation_matches_numpy(activation, reference):
    net = classical_representation(4, 2, activation=activation)
    x = np.random.default_rng(0).uniform(0, np.pi, (6, 4)).astype(np.float32)
    out = net(x).numpy()
    h = x.astype(np.float64)
    for i in range(2):
        kernel, bias = net.get_layer(f"dense_{i}").get_weights()
        h = reference(h @ kernel + bias)
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)
    if activation in ("cos", "tanh"):
        assert np.all(np.abs(out) <= 1)


def test_cos_network_is_periodic_and_tanh_is_not():
    cos_net = classical_representation(3, 1, activation="cos")
    tanh_net = classical_representation(3, 1, activation="tanh")
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    for net, periodic in ((cos_net, True), (tanh_net, False)):
        net.build((None, 3))
        kernel, _ = net.get_layer("dense_0").get_weights()
        # Shift the pre-activation by 2π along the first unit: x + δ with δ·K[:, 0] = 2π.
        delta = np.linalg.solve(kernel.T, np.array([2 * np.pi, 0, 0]))
        a, b = net(x).numpy(), net((x + delta).astype(np.float32)).numpy()
        assert np.allclose(a, b, atol=1e-3) == periodic


def test_bad_activation_is_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        classical_representation(4, 2, activation="relu")


@pytest.mark.parametrize("sets,match", [
    (["model.representation=classical", "model.activation=relu"], "model.activation must be one of"),
    (["model.activation=cos"], "applies to the classical network only"),
    (["model.ansatz=ring_product", "model.engine=tensornet"], "ring ansatz"),
])
def test_new_options_are_validated_in_the_config(sets, match):
    from tfq_ssl import config as config_lib, config_io
    from train.presets import get_preset
    with pytest.raises(config_lib.ConfigError, match=match):
        config_io.override(get_preset("smoke"), sets)


def test_configs_without_activation_load_as_leaky_relu():
    from tfq_ssl import config as config_lib, config_io
    from train.presets import get_preset
    data = config_io.to_dict(get_preset("paper_5class_classical"))
    del data["model"]["activation"]
    assert config_io.from_dict(config_lib.RunConfig, data).model.activation == "leaky_relu"
