"""Linear probe of a pretrained run: ``python -m train.probe --run RUN_DIR``.

For each chosen checkpoint the encoder is frozen and a Dense(num_classes) head is
trained on the train split of the run's classes and evaluated on their test split.
Results land in ``RUN_DIR/probe/<protocol>/step-NNNNN.json`` (with the head's
weights beside them as ``.head.npz``); a rerun skips checkpoints already probed.

Both the final-epoch and the best-epoch test accuracy are reported. The paper
reports the best epoch, which selects on the test set: it is kept visible here,
never substituted for the final figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Sequence

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import numpy as np
import tensorflow as tf
import tf_keras

from models.probe import linear_probe, probe_head
from models.simclr import build_simclr
from tfq_ssl import config as config_lib
from tfq_ssl.augment import AugmentConfig, make_augment
from tfq_ssl.config import ProbeConfig, RunConfig
from tfq_ssl.data import CIFAR10_CLASSES, load_cifar10, probe_dataset, resolve_classes
from train.pretrain import CONFIG_FILE, checkpoint_path, list_checkpoints

PROTOCOLS = ("paper", "cached")


def load_encoder(run_dir: str, step: int) -> tuple[RunConfig, tf_keras.Model]:
    """The run's config and its encoder (images → y) with the weights of ``step``."""
    config = config_lib.load_json(os.path.join(run_dir, CONFIG_FILE))
    model = build_simclr(config.model, temperature=config.train.temperature)
    if step not in list_checkpoints(run_dir):
        raise FileNotFoundError(
            f"{run_dir} has no checkpoint for step {step}; it has {list_checkpoints(run_dir)}."
        )
    model.load_weights(checkpoint_path(run_dir, step)).expect_partial()
    return config, model.encoder


def result_path(run_dir: str, protocol: str, step: int) -> str:
    """Where the probe result of ``step`` is stored."""
    return os.path.join(run_dir, "probe", protocol, f"step-{step:05d}.json")


def load_probe_head(run_dir: str, protocol: str, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The trained probe head's ``(kernel (W, k), bias (k,))`` of a probed checkpoint."""
    path = result_path(run_dir, protocol, step).replace(".json", ".head.npz")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no probe head at {path}; run `python -m train.probe --run {run_dir} "
            f"--checkpoints {step} --protocol {protocol}` first."
        )
    with np.load(path) as data:
        return data["kernel"], data["bias"]


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
        raise ValueError(f"asked for {count} test images, the split has {len(labels)}.")
    pick = np.sort(np.random.default_rng(seed).choice(len(labels), count, replace=False))
    return images[pick], labels[pick]


def _schedule(probe: ProbeConfig) -> tf_keras.callbacks.LearningRateScheduler:
    """lr × 0.1 at each milestone (the paper: epochs 60 and 80 of 100)."""
    milestones = [round(m * probe.epochs) for m in probe.milestones]
    return tf_keras.callbacks.LearningRateScheduler(
        lambda epoch: probe.learning_rate * 0.1 ** sum(epoch >= m for m in milestones)
    )


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
              class_names: Sequence[str]) -> dict[str, Any]:
    """Final/best test accuracy, per-class accuracy and confusion matrix."""
    accuracies = [float(a) for a in history["val_accuracy"]]
    matrix = confusion_matrix(labels, logits.argmax(axis=1), len(class_names))
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {
        "final_test_accuracy": accuracies[-1],
        "best_test_accuracy": max(accuracies),
        "best_epoch": int(np.argmax(accuracies)) + 1,
        "test_accuracy_per_epoch": accuracies,
        "train_accuracy_per_epoch": [float(a) for a in history["accuracy"]],
        "per_class_accuracy": dict(zip(class_names, per_class.round(4).tolist())),
        "confusion_matrix": matrix.tolist(),
        "class_names": list(class_names),
    }


def _features(encoder: tf_keras.Model, ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    for images, y in ds:
        feats.append(encoder(images, training=False).numpy())
        labels.append(y.numpy())
    return np.concatenate(feats), np.concatenate(labels)


def train_probe(
    encoder: tf_keras.Model,
    train_images: tf.data.Dataset,
    test_images: tf.data.Dataset,
    class_names: Sequence[str],
    probe: ProbeConfig,
    verbose: int = 0,
) -> tuple[dict[str, Any], tf_keras.Model]:
    """Train a linear head on the frozen encoder and evaluate it every epoch.

    Args:
        encoder: images → y (frozen here).
        train_images, test_images: ``(image uint8, label)`` datasets.
        class_names: one name per label.
        probe: protocol and schedule.
        verbose: Keras verbosity.

    Returns:
        The summary dict (see ``summarise``) and the trained head.
    """
    if probe.protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {probe.protocol!r}.")
    tf_keras.utils.set_random_seed(probe.seed)
    encoder.trainable = False
    k = len(class_names)
    test = probe_dataset(test_images, batch_size=probe.batch_size, shuffle=False)
    head = probe_head(encoder.output_shape[-1], k)
    if probe.protocol == "cached":
        x_train, y_train = _features(
            encoder, probe_dataset(train_images, batch_size=probe.batch_size, shuffle=False))
        x_test, y_test = _features(encoder, test)
        # The head alone is tiny: run many steps per call to cut Keras' per-step overhead.
        _compile(head, probe, steps_per_execution=64)
        history = head.fit(
            x_train, y_train, batch_size=probe.batch_size, epochs=probe.epochs,
            validation_data=(x_test, y_test), callbacks=[_schedule(probe)], verbose=verbose,
        ).history
        logits = head.predict(x_test, batch_size=probe.batch_size, verbose=0)
    else:
        augment = make_augment(AugmentConfig(crop_scale=probe.crop_scale))
        train = probe_dataset(train_images, batch_size=probe.batch_size, augment=augment,
                              shuffle=True, seed=probe.seed)
        model = linear_probe(encoder, k, head)
        _compile(model, probe)
        history = model.fit(train, epochs=probe.epochs, validation_data=test,
                            callbacks=[_schedule(probe)], verbose=verbose).history
        y_test = np.concatenate([labels.numpy() for _, labels in test])
        logits = model.predict(test, verbose=0)
    return summarise(history, y_test, logits, class_names), head


def probe_run(
    run_dir: str,
    steps: Sequence[int],
    probe: ProbeConfig,
    *,
    data_dir: str | None = None,
    datasets: tuple[tf.data.Dataset, tf.data.Dataset] | None = None,
    verbose: int = 0,
) -> list[dict[str, Any]]:
    """Probe checkpoints of a run, skipping those already probed.

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
    config = config_lib.load_json(os.path.join(run_dir, CONFIG_FILE))
    ids = resolve_classes(config.data.classes, len(CIFAR10_CLASSES))
    class_names = [CIFAR10_CLASSES[i] for i in ids]
    if datasets is None:
        kwargs = dict(data_dir=data_dir or config.data.data_dir, download=config.data.download,
                      classes=config.data.classes, remap_labels=config.data.remap_labels)
        datasets = (load_cifar10("train", **kwargs), load_cifar10("test", **kwargs))
    results = []
    for step in steps:
        path = result_path(run_dir, probe.protocol, step)
        if os.path.exists(path):
            with open(path) as f:
                results.append(json.load(f))
            continue
        start = time.perf_counter()
        _, encoder = load_encoder(run_dir, step)
        summary, head = train_probe(encoder, *datasets, class_names, probe, verbose=verbose)
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
        os.makedirs(os.path.dirname(path), exist_ok=True)
        kernel, bias = head.get_layer("probe_head").get_weights()
        np.savez(path.replace(".json", ".head.npz"), kernel=kernel, bias=bias)
        with open(f"{path}.tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(f"{path}.tmp", path)
        results.append(result)
    return results


def select_checkpoints(run_dir: str, spec: str) -> list[int]:
    """``all``, ``latest`` or a comma-separated list of steps."""
    available = list_checkpoints(run_dir)
    if not available:
        raise FileNotFoundError(f"{run_dir} has no checkpoints; pretrain it first.")
    if spec == "all":
        return available
    if spec == "latest":
        return available[-1:]
    try:
        steps = [int(s) for s in spec.split(",")]
    except ValueError:
        raise ValueError(f"--checkpoints must be all, latest or steps like 13,26; got {spec!r}.")
    missing = sorted(set(steps) - set(available))
    if missing:
        raise ValueError(f"no checkpoints for steps {missing}; available: {available}.")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="pretraining run folder")
    parser.add_argument("--checkpoints", default="all", help="all | latest | 13,26,...")
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS)
    parser.add_argument("--epochs", type=int, default=ProbeConfig.epochs)
    parser.add_argument("--batch-size", type=int, default=ProbeConfig.batch_size)
    parser.add_argument("--data-dir", help="TFDS data directory (default: the run's)")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    if not os.path.exists(os.path.join(args.run, CONFIG_FILE)):
        parser.error(f"{args.run} is not a run folder (no {CONFIG_FILE}); pretrain first.")
    try:
        steps = select_checkpoints(args.run, args.checkpoints)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    probe = ProbeConfig(protocol=args.protocol, epochs=args.epochs, batch_size=args.batch_size)
    for r in probe_run(args.run, steps, probe, data_dir=args.data_dir, verbose=args.verbose):
        print(f"step {r['step']:5d} [{r['protocol']}] final {100 * r['final_test_accuracy']:.2f}% "
              f"best {100 * r['best_test_accuracy']:.2f}% (epoch {r['best_epoch']}, selected on "
              f"the test set) {r['seconds']:.0f}s")
    print(f"results: {os.path.join(os.path.abspath(args.run), 'probe', args.protocol)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
