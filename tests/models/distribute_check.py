"""Run by tests/test_distribute.py in a fresh process: logical CPU devices must be
configured before TensorFlow initialises them, which a shared pytest process has done."""

import sys

import tfq_ssl  # noqa: F401
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import dataclasses  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

from models.simclr import build_simclr  # noqa: E402
from tests.helpers import tiny_config  # noqa: E402


def main(representation: str) -> None:
    # Without the projection head: at step 1 its last bias is exactly zero, and a view
    # whose W ReLU units are all off gives z = 0, whose L2-normalisation gradient is
    # ~1e12 -- fine for Adam-free comparisons only if that head is left out.
    config = dataclasses.replace(tiny_config(representation).model, width=4,
                                 projection_head=False)
    rng = np.random.default_rng(0)
    views = [tf.constant(rng.normal(size=(8, 32, 32, 3)), tf.float32) for _ in range(2)]
    ds = tf.data.Dataset.from_tensors(((views[0], views[1]), tf.zeros(8, tf.int32))).repeat(1)

    tf_keras.utils.set_random_seed(0)
    single = build_simclr(config)
    single.compile(optimizer=tf_keras.optimizers.SGD(1e-4))
    initial = single.get_weights()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = build_simclr(config, synchronized_bn=True)
        mirrored.compile(optimizer=tf_keras.optimizers.SGD(1e-4))
    mirrored.set_weights(initial)
    h_single = single.fit(ds, epochs=1, verbose=0).history
    h_mirrored = mirrored.fit(ds, epochs=1, verbose=0).history
    # Relative to how far each trainable weight moved (BatchNorm moving statistics are
    # per-replica bookkeeping, not part of the update).
    names = [w.name for w in single.weights]
    trainable = {w.name for w in single.trainable_weights}
    moved, diff = 0.0, 0.0
    for name, a, b, w0 in zip(names, single.get_weights(), mirrored.get_weights(), initial):
        if name in trainable:
            moved = max(moved, float(np.abs(a - w0).max()))
            diff = max(diff, float(np.abs(a - b).max()))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                      "loss_single": h_single["batch_loss"][0],
                      "loss_mirrored": h_mirrored["batch_loss"][0],
                      "max_weight_change": float(moved), "max_weight_diff": float(diff)}))


if __name__ == "__main__":
    main(sys.argv[1])
