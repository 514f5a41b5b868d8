import tfq_ssl  # noqa: F401
import pytest
import numpy as np
import tensorflow as tf
import tf_keras

from bench.keras_probe import keras_probe, linear_probe
from models import linear_probe as probe_lib
from models.simclr import build_encoder
from tests.helpers import generated_images, tiny_config
from tfq_ssl.config import ProbeConfig


def test_frozen_encoder_weights_do_not_move():
    encoder = build_encoder(tiny_config("quantum").model)
    model = linear_probe(encoder, 2)
    before = [w.numpy().copy() for w in encoder.weights]  # incl. BatchNorm statistics
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = tf.random.normal((8, 32, 32, 3))
    model.fit(x, np.arange(8) % 2, epochs=2, batch_size=4, verbose=0)
    assert not encoder.trainable_weights
    assert [v.name for v in model.trainable_weights] == [
        v.name for v in model.get_layer("linear_probe_head").trainable_weights]
    for b, w in zip(before, encoder.weights):
        np.testing.assert_array_equal(b, w.numpy())


@pytest.mark.slow
def test_compiled_head_loop_agrees_with_model_fit():
    """The compiled head loop trains like Keras' Model.fit on the head (same optimiser,
    schedule, epochs): on separable features both reach the same accuracy, and the
    first epoch's training accuracy is the running one, as fit reports it."""
    tf_keras.utils.set_random_seed(0)
    encoder = build_encoder(tiny_config("quantum").model)
    probe = ProbeConfig(epochs=12, batch_size=32, learning_rate=0.05)
    train, test = (probe_lib.split_arrays(generated_images(n, classes=2, seed=s))
                   for n, s in ((96, 1), (48, 2)))
    compiled, _ = probe_lib.train_probe(encoder, train, test, ["a", "b"], probe)
    keras, _ = keras_probe(encoder, train, test, ["a", "b"], probe)
    assert abs(compiled["final_test_accuracy"] - keras["final_test_accuracy"]) <= 0.05
    assert compiled["final_test_accuracy"] >= 0.8
    assert len(compiled["train_accuracy_per_epoch"]) == probe.epochs
