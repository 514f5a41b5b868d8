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
