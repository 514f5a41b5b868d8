"""Linear probe on a frozen encoder (paper Sec. 4: representation quality).

The encoder (everything up to the representation y) is frozen and run in inference
mode (BatchNorm uses its moving statistics); only a Dense(num_classes) head learns.
For each probed checkpoint a run folder stores the result (final and best-epoch test
accuracy, per-epoch curves, per-class accuracy, confusion matrix) and the head's
weights, keyed by the probe settings (:func:`tfq_ssl.rundir.probe_key`); a rerun
reuses a stored result only when its settings match.

Both the final-epoch and the best-epoch test accuracy are reported. The paper
reports the best epoch, which selects on the test set: it is kept visible here,
never substituted for the final figure.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any, Sequence

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import numpy as np
import tensorflow as tf
import tf_keras

from models.simclr import build_simclr
from tfq_ssl import config as config_lib
from tfq_ssl import rundir
from tfq_ssl.augment import make_augment
from tfq_ssl.config import CIFAR10_CLASSES, AugmentConfig, ProbeConfig, RunConfig, resolve_classes
from tfq_ssl.data import load_cifar10, probe_dataset
from tfq_ssl.errors import CorruptFileError, RunFolderError

log = logging.getLogger(__name__)


def probe_head(width: int, num_classes: int) -> tf_keras.Sequential:
    """Dense(num_classes) on representations y (logits out).

    Shape:
        - Input ``(batch, width)``; output ``(batch, num_classes)``.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes!r}.")
    return tf_keras.Sequential(
        [tf_keras.Input((width,), name="representation"),
         tf_keras.layers.Dense(num_classes, name="probe_head")],
        name="linear_probe_head",
    )


def linear_probe(
    encoder: tf_keras.Model, num_classes: int, head: tf_keras.Model | None = None
) -> tf_keras.Model:
    """images → frozen encoder → head. No encoder weight can move.

    Args:
        encoder: images → y; it is set non-trainable and always called with
            ``training=False``.
        num_classes: output classes.
        head: an existing head (e.g. one trained on cached features); default new.

    Shape:
        - Input: ``(batch, 32, 32, 3)`` normalised images; output ``(batch, num_classes)`` logits.
    """
    encoder.trainable = False
    width = encoder.output_shape[-1]
    head = head or probe_head(width, num_classes)
    images = tf_keras.Input(encoder.input_shape[1:], name="images")
    logits = head(encoder(images, training=False))
    return tf_keras.Model(images, logits, name="linear_probe")


def load_encoder(run_dir: str, step: int) -> tuple[RunConfig, tf_keras.Model]:
    """The run's config and its encoder (images → y) with the weights of ``step``.

    Raises:
        RunFolderError: no such checkpoint. CorruptFileError: it does not load.
    """
    config = rundir.read_config(run_dir)
    available = rundir.list_checkpoints(run_dir)
    if step not in available:
        raise RunFolderError(f"{run_dir} has no checkpoint for step {step}; it has {available}.")
    prefix = rundir.checkpoint_prefix(run_dir, step)
    try:
        rundir.verify_checkpoint(prefix)
    except CorruptFileError as err:
        raise CorruptFileError(
            f"{err}. Rerun the run's pretraining (python -m train.pretrain --config "
            f"{rundir.config_path(run_dir)} --out {run_dir}): it moves the corrupt checkpoint "
            "aside and recomputes it.") from None
    model = build_simclr(config.model, temperature=config.train.temperature)
    model.load_weights(prefix).expect_partial()
    return config, model.encoder


def class_names(config: RunConfig) -> list[str]:
    """Names of the run's classes, in label order."""
    return [CIFAR10_CLASSES[i] for i in resolve_classes(config.data.classes, len(CIFAR10_CLASSES))]


def sample_test_images(
    config: RunConfig, count: int, seed: int = 0, data_dir: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random test images of the run's classes (seeded), as uint8 and labels.

    The paper evaluated its hardware runs on 900 random test images.
    """
    ds = load_cifar10("test", data_dir=data_dir or config.data.data_dir,
                      download=config.data.download, classes=config.data.classes,
                      remap_labels=config.data.remap_labels)
    images, labels = map(np.stack, zip(*ds.as_numpy_iterator()))
    if count > len(labels):
        raise config_lib.ConfigError(
            f"asked for {count} test images, the split has {len(labels)}; use --images "
            f"{len(labels)} or fewer.")
    pick = np.sort(np.random.default_rng(seed).choice(len(labels), count, replace=False))
    return images[pick], labels[pick]


def _schedule(probe: ProbeConfig) -> tf_keras.callbacks.LearningRateScheduler:
    """lr × 0.1 at each milestone (the paper: epochs 60 and 80 of 100)."""
    milestones = [round(m * probe.epochs) for m in probe.milestones]
    return tf_keras.callbacks.LearningRateScheduler(
        lambda epoch: probe.learning_rate * 0.1 ** sum(epoch >= m for m in milestones)
    )


class EpochProgress(tf_keras.callbacks.Callback):
    """Logs ``label: epoch e/E, test accuracy a`` every ``every`` epochs and at the last."""

    def __init__(self, label: str, epochs: int, every: int = 10) -> None:
        super().__init__()
        self._label, self._epochs, self._every = label, epochs, every

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        if done % self._every == 0 or done == self._epochs:
            accuracy = (logs or {}).get("val_accuracy", float("nan"))
            log.info("%s: epoch %d/%d, test accuracy %.2f%%", self._label, done, self._epochs,
                     100 * accuracy)


def _compile(model: tf_keras.Model, probe: ProbeConfig, steps_per_execution: int = 1) -> None:
    model.compile(
        steps_per_execution=steps_per_execution,
        optimizer=tf_keras.optimizers.Adam(probe.learning_rate, weight_decay=probe.weight_decay),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``."""
    return tf.math.confusion_matrix(labels, predictions, num_classes=num_classes).numpy()


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


def features(encoder: tf_keras.Model, ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(y, labels)`` of every batch of ``ds`` through the frozen encoder."""
    feats, labels = [], []
    for images, y in ds:
        feats.append(encoder(images, training=False).numpy())
        labels.append(y.numpy())
    return np.concatenate(feats), np.concatenate(labels)


def train_probe(
    encoder: tf_keras.Model,
    train_images: tf.data.Dataset,
    test_images: tf.data.Dataset,
    names: Sequence[str],
    probe: ProbeConfig,
    verbose: int = 0,
    callbacks: Sequence[tf_keras.callbacks.Callback] = (),
) -> tuple[dict[str, Any], tf_keras.Model]:
    """Train a linear head on the frozen encoder and evaluate it every epoch.

    Args:
        encoder: images → y (frozen here).
        train_images, test_images: ``(image uint8, label)`` datasets.
        names: one class name per label.
        probe: protocol and schedule.
        verbose: Keras verbosity.
        callbacks: extra Keras callbacks of the head's training (e.g. progress).

    Returns:
        The summary dict (see ``summarise``) and the trained head.
    """
    config_lib.check_probe(probe)
    tf_keras.utils.set_random_seed(probe.seed)
    encoder.trainable = False
    k = len(names)
    test = probe_dataset(test_images, batch_size=probe.batch_size, shuffle=False)
    head = probe_head(encoder.output_shape[-1], k)
    callbacks = [_schedule(probe), *callbacks]
    if probe.protocol == "cached":
        x_train, y_train = features(
            encoder, probe_dataset(train_images, batch_size=probe.batch_size, shuffle=False))
        x_test, y_test = features(encoder, test)
        # The head alone is tiny: run many steps per call to cut Keras' per-step overhead.
        _compile(head, probe, steps_per_execution=64)
        history = head.fit(
            x_train, y_train, batch_size=probe.batch_size, epochs=probe.epochs,
            validation_data=(x_test, y_test), callbacks=callbacks, verbose=verbose,
        ).history
        logits = head.predict(x_test, batch_size=probe.batch_size, verbose=0)
    else:
        augment = make_augment(AugmentConfig(crop_scale=probe.crop_scale))
        train = probe_dataset(train_images, batch_size=probe.batch_size, augment=augment,
                              shuffle=True, seed=probe.seed)
        model = linear_probe(encoder, k, head)
        _compile(model, probe)
        history = model.fit(train, epochs=probe.epochs, validation_data=test,
                            callbacks=callbacks, verbose=verbose).history
        y_test = np.concatenate([labels.numpy() for _, labels in test])
        logits = model.predict(test, verbose=0)
    return summarise(history, y_test, logits, names), head


def probe_run(
    run_dir: str,
    steps: Sequence[int],
    probe: ProbeConfig,
    *,
    data_dir: str | None = None,
    datasets: tuple[tf.data.Dataset, tf.data.Dataset] | None = None,
    verbose: int = 0,
) -> list[dict[str, Any]]:
    """Probe checkpoints of a run, reusing results stored under the same settings.

    Holds the run folder's lock while it writes.

    Args:
        run_dir: a pretraining run folder.
        steps: checkpoint steps to probe.
        probe: protocol and schedule.
        data_dir: TFDS data directory (default: the run's).
        datasets: ``(train, test)`` ``(image uint8, label)`` datasets to use instead
            of CIFAR-10 (tests).
        verbose: Keras verbosity.

    Returns:
        One result dict per step.
    """
    config_lib.check_probe(probe)
    config = rundir.read_config(run_dir)
    names = class_names(config)
    with rundir.locked(run_dir):
        stored = {s: rundir.read_probe_result(run_dir, probe, s) for s in steps}
        if None in stored.values() and datasets is None:
            kwargs = dict(data_dir=data_dir or config.data.data_dir, download=config.data.download,
                          classes=config.data.classes, remap_labels=config.data.remap_labels)
            datasets = (load_cifar10("train", **kwargs), load_cifar10("test", **kwargs))
        results = []
        for n, step in enumerate(steps, start=1):
            if stored[step] is not None:
                results.append(stored[step])
                continue
            label = f"probe step {step} ({n}/{len(steps)}, {probe.protocol})"
            log.info("%s: %d epochs", label, probe.epochs)
            start = time.perf_counter()
            _, encoder = load_encoder(run_dir, step)
            summary, head = train_probe(encoder, *datasets, names, probe, verbose=verbose,
                                        callbacks=[EpochProgress(label, probe.epochs)])
            result = {
                "run": os.path.basename(os.path.normpath(run_dir)),
                "step": step,
                "protocol": probe.protocol,
                "probe_config": dataclasses.asdict(probe),
                "seconds": round(time.perf_counter() - start, 2),
                "note": "best_test_accuracy selects the epoch on the test set (as the paper "
                        "reports); final_test_accuracy does not.",
                **summary,
            }
            kernel, bias = head.get_layer("probe_head").get_weights()
            rundir.write_probe_result(run_dir, probe, step, result, kernel, bias)
            results.append(result)
        return results
