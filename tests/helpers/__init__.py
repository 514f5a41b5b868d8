"""Shared test helpers: small generated data, configs, finite differences."""

from __future__ import annotations

import dataclasses
import os
import shutil

import tfq_ssl  # noqa: F401
import numpy as np
import tensorflow as tf
import tf_keras

from tfq_ssl.augment import make_augment
from tfq_ssl.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfq_ssl.data import pretraining_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The repository root (to run entry points as subprocesses)."""


def generated_images(n: int = 64, classes: int = 2, seed: int = 0) -> tf.data.Dataset:
    """``(image uint8, label)`` pairs whose classes differ in colour and texture."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = rng.integers(0, 80, size=(n, 32, 32, 3))
    for c in range(classes):
        images[labels == c, :, :, c % 3] += 120 + 40 * (c // 3)
        if c % 2:
            images[labels == c, ::4] += 50
    return tf.data.Dataset.from_tensor_slices(
        (np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int32)))


class InterruptAt(tf_keras.callbacks.Callback):
    """Raises ``KeyboardInterrupt`` (a Ctrl-C) after global step ``step`` is done."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            raise KeyboardInterrupt("simulated kill")


def write_cifar10(data_dir: str, n_train: int = 64, n_test: int = 32, classes: int = 2,
                  seed: int = 0) -> str:
    """A prepared TFDS ``cifar10`` directory of generated images (as ``generated_images``),
    that ``tfds.load("cifar10", data_dir=..., download=False)`` reads in any process."""
    import tensorflow_datasets as tfds

    builder = tfds.builder("cifar10", data_dir=data_dir)
    features, version = builder.info.features, builder.info.version
    root = os.path.join(data_dir, "cifar10", str(version))
    os.makedirs(root, exist_ok=True)
    pattern = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
    template = tfds.core.ShardedFileTemplate(data_dir=root, template=pattern,
                                             dataset_name="cifar10", filetype_suffix="tfrecord")
    splits = []
    for n, (split, count) in enumerate((("train", n_train), ("test", n_test))):
        path = os.path.join(root, f"cifar10-{split}.tfrecord-00000-of-00001")
        with tf.io.TFRecordWriter(path) as writer:
            for i, (image, label) in enumerate(
                    generated_images(count, classes, seed + n).as_numpy_iterator()):
                writer.write(features.serialize_example(
                    {"id": f"{split}_{i}", "image": image, "label": int(label)}))
        splits.append(tfds.core.SplitInfo(name=split, shard_lengths=[count],
                                          num_bytes=os.path.getsize(path),
                                          filename_template=template))
    tfds.folder_dataset.write_metadata(data_dir=root, features=features, split_infos=splits,
                                       version=version, filename_template=pattern,
                                       check_data=False)
    return data_dir


def distinct_images(n: int = 8, seed: int = 0) -> tf.data.Dataset:
    """``n`` unrelated uniform-noise images: every pair is easy to tell apart."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 32, 32, 3)).astype(np.uint8)
    return tf.data.Dataset.from_tensor_slices((images, np.zeros(n, np.int32)))


def tiny_config(representation: str = "quantum", **train: object) -> RunConfig:
    """A run small enough for CI: ResNet-10, W=2, L=1, batch 4."""
    return RunConfig(
        name="tiny",
        data=DataConfig(classes=2, download=False),
        model=ModelConfig(representation=representation, width=2, layers=1, resnet_depth=10),
        train=dataclasses.replace(TrainConfig(batch_size=4, steps=3, save_every=2, hs_batch=4), **train),
    )


def view_pairs(config: RunConfig, images: tf.data.Dataset | None = None) -> tf.data.Dataset:
    """The run's ``((view1, view2), label)`` stream on generated images."""
    return pretraining_dataset(
        images or generated_images(), batch_size=config.train.batch_size,
        augment=make_augment(config.augment), seed=config.train.seed, shuffle_buffer=64)


def finite_difference_gradients(fn, angles, weights, eps=1e-5):
    """Central differences of the scalar fn(angles, weights) in float64."""
    grads = []
    for arr in (angles, weights):
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = (plus, weights) if arr is angles else (angles, plus)
            args_m = (minus, weights) if arr is angles else (angles, minus)
            g[idx] = (fn(*args_p) - fn(*args_m)) / (2 * eps)
        grads.append(g)
    return grads


def copy_run(run_dir: str, tmp_path) -> str:
    """A copy of a (module-scoped) run folder at ``tmp_path/run`` for one test to damage,
    without the lock file its writer left."""
    target = str(tmp_path / "run")
    shutil.copytree(run_dir, target)
    os.remove(os.path.join(target, ".lock"))
    return target
