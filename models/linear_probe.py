"""Linear probe on a frozen encoder (paper Sec. 4: representation quality).

The encoder (everything up to the representation y) is frozen and run in inference
mode (BatchNorm uses its moving statistics); only a Dense(num_classes) head learns.
For each probed checkpoint a run folder stores the result (final and best-epoch test
accuracy, per-epoch curves, per-class accuracy, confusion matrix) and the head's
weights, keyed by the probe settings (:func:`tfq_ssl.probe_store.probe_key`); a rerun
reuses a stored result only when its settings match.

Both the final-epoch and the best-epoch test accuracy are reported. The paper
reports the best epoch, which selects on the test set: it is kept visible here,
never substituted for the final figure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from typing import Any, Callable, Sequence

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import numpy as np
import tensorflow as tf
import tf_keras

from models.probe_heads import fit_lbfgs, fold_standardization, standardizer, summarise
from models.run import Run, feature_engine
from tfq_ssl import config as config_lib
from tfq_ssl import probe_store
from tfq_ssl.augment import make_augment
from tfq_ssl.config import AugmentConfig, ProbeConfig
from tfq_ssl.data import normalize, probe_dataset

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


def learning_rate(probe: ProbeConfig, epoch: int) -> float:
    """The rate of 0-based ``epoch``: lr × 0.1 at each milestone (the paper: 60 and 80 of 100)."""
    milestones = [round(m * probe.epochs) for m in probe.milestones]
    return probe.learning_rate * 0.1 ** sum(epoch >= m for m in milestones)


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


def head_optimizer(probe: ProbeConfig) -> tf_keras.optimizers.Optimizer:
    return tf_keras.optimizers.Adam(probe.learning_rate, weight_decay=probe.weight_decay)


# Images per call of the compiled encoder: large enough to keep both cores busy,
# small enough that one batch of activations stays well inside memory.
FEATURE_BATCH = 1000


def split_arrays(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(image uint8, label)`` of ``ds`` in memory, decoded once.

    Shape:
        images ``(N, 32, 32, 3)`` uint8; labels ``(N,)`` int32.
    """
    images, labels = [], []
    for image, label in ds.batch(FEATURE_BATCH).as_numpy_iterator():
        images.append(image)
        labels.append(label)
    if not images:
        raise ValueError("the probe's dataset is empty.")
    return np.concatenate(images), np.concatenate(labels).astype(np.int32)


def _compiled_encoder(encoder: tf_keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """uint8 (or already normalised float) images → y, one graph per input dtype."""

    @tf.function(reduce_retracing=True)
    def encode(images: tf.Tensor) -> tf.Tensor:
        x = normalize(images) if images.dtype == tf.uint8 else images
        return encoder(x, training=False)

    return encode


def _encode_arrays(encode: Callable[[tf.Tensor], tf.Tensor], images: np.ndarray,
                   batch_size: int = FEATURE_BATCH) -> np.ndarray:
    return np.concatenate([encode(tf.constant(images[i:i + batch_size])).numpy()
                           for i in range(0, len(images), batch_size)])


def features(encoder: tf_keras.Model, images: np.ndarray | tf.data.Dataset,
             batch_size: int = FEATURE_BATCH) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Representations y of ``images`` through the frozen encoder (one compiled pass).

    Args:
        encoder: images → y.
        images: uint8 ``(N, 32, 32, 3)`` images, or a dataset of ``(image, label)``
            batches (normalised images), for which ``(y, labels)`` is returned.
        batch_size: images per encoder call (arrays only).
    """
    encode = _compiled_encoder(encoder)
    if isinstance(images, tf.data.Dataset):
        feats, labels = [], []
        for batch, y in images:
            feats.append(encode(batch).numpy())
            labels.append(y.numpy())
        return np.concatenate(feats), np.concatenate(labels)
    return _encode_arrays(encode, images, batch_size)


class HeadTrainer:
    """One linear head trained on in-memory features, an epoch per call.

    The same optimiser (Keras Adam with the probe's weight decay), loss, batch size
    and per-epoch schedule as ``Model.fit`` on the head, run as one compiled loop
    over an epoch's batches instead of one Keras step per batch (faster: ``bench.probe``,
    figures in bench/README.md). Training accuracy is the
    running accuracy of the epoch's batches before each update, as ``fit`` reports it.
    """

    def __init__(self, width: int, num_classes: int, probe: ProbeConfig) -> None:
        self.probe = probe
        self.head = probe_head(width, num_classes)
        self.optimizer = head_optimizer(probe)
        self._loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self._epoch = tf.function(self._train_epoch, reduce_retracing=True)
        self._logits = tf.function(lambda x: self.head(x, training=False), reduce_retracing=True)
        # Adam's slots exist before the compiled loop (no variable may be made inside it).
        self.optimizer.build(self.head.trainable_variables)

    def _train_epoch(self, x: tf.Tensor, y: tf.Tensor, order: tf.Tensor) -> tf.Tensor:
        size = self.probe.batch_size
        n = tf.shape(order)[0]
        correct = tf.constant(0, tf.int64)
        variables = self.head.trainable_variables
        for start in tf.range(0, n, size):
            batch = order[start:start + size]
            xb, yb = tf.gather(x, batch), tf.gather(y, batch)
            with tf.GradientTape() as tape:
                logits = self.head(xb, training=True)
                loss = self._loss(yb, logits)
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), yb)
            correct += tf.reduce_sum(tf.cast(hits, tf.int64))
        return tf.cast(correct, tf.float64) / tf.cast(n, tf.float64)

    def train_epoch(self, epoch: int, x: np.ndarray, y: np.ndarray, order: np.ndarray) -> float:
        """One epoch over ``x[order]`` at the schedule's rate; returns training accuracy."""
        self.optimizer.learning_rate = learning_rate(self.probe, epoch)
        return float(self._epoch(tf.constant(x, tf.float32), tf.constant(y, tf.int32),
                                 tf.constant(order, tf.int32)))

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self._logits(tf.constant(x, tf.float32)).numpy()

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.logits(x).argmax(axis=1) == y))


def _arrays(data: tf.data.Dataset | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return split_arrays(data) if isinstance(data, tf.data.Dataset) else data


def _augmented_stream(images: np.ndarray, labels: np.ndarray, probe: ProbeConfig,
                      epoch: int) -> tf.data.Dataset:
    """One epoch of the paper protocol's training data: every image once, in a fresh
    order, each with a fresh augmentation (seeded by the probe seed and the epoch)."""
    augment = make_augment(AugmentConfig(crop_scale=probe.crop_scale))
    seed = probe.seed * 100_003 + epoch
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    return probe_dataset(ds, batch_size=FEATURE_BATCH, augment=augment, shuffle=True, seed=seed,
                         shuffle_buffer=len(labels))


def train_probes(
    encoders: Sequence[tf_keras.Model],
    train_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    test_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    names: Sequence[str],
    probe: ProbeConfig,
    callbacks: Sequence[Sequence[tf_keras.callbacks.Callback]] | None = None,
    memo: dict[Any, np.ndarray] | None = None,
    keys: Sequence[Any] | None = None,
) -> list[tuple[dict[str, Any], tf_keras.Model]]:
    """Train one linear head per frozen encoder, evaluating every epoch on the test set.

    The encoders run in inference mode, as compiled graphs over batches of
    :data:`FEATURE_BATCH` images; the heads train on the features in memory. Cached
    protocol: features computed once, the training set reshuffled every epoch. Paper
    protocol: every epoch draws one augmented copy of the training set, in a fresh
    order, and every encoder computes its features from that same copy (the encoder is
    frozen, so computing an epoch's features before its head steps changes nothing);
    the test features do not change between epochs and are computed once.

    Args:
        encoders: images → y each (frozen here; all of one width).
        train_data, test_data: ``(image uint8, label)`` datasets, or ``(images,
            labels)`` arrays as :func:`split_arrays` returns them.
        names: one class name per label.
        probe: protocol and schedule.
        callbacks: per encoder, Keras callbacks whose ``on_epoch_begin(epoch)`` and
            ``on_epoch_end(epoch, logs)`` are called (logs: ``accuracy``,
            ``val_accuracy``, ``lr``).
        memo, keys: the features of the unaugmented splits, stored in ``memo`` under
            ``(keys[i], split)``: calls for several heads that pass the same ``memo``
            and keys naming the same checkpoints compute each encoder's features once.

    Returns:
        Per encoder, the summary dict (see :func:`summarise`) and the trained head.
    """
    config_lib.check_probe(probe)
    train_images, train_labels = _arrays(train_data)
    test_images, test_labels = _arrays(test_data)
    callbacks = callbacks or [()] * len(encoders)
    for encoder in encoders:
        encoder.trainable = False
    trainers = []
    for encoder in encoders:  # every head starts as it would if probed alone
        tf_keras.utils.set_random_seed(probe.seed)
        trainers.append(HeadTrainer(encoder.output_shape[-1], len(names), probe))
    memo = {} if memo is None else memo
    keys = list(keys) if keys is not None else [id(e) for e in encoders]
    encodes: dict[int, Callable[[tf.Tensor], tf.Tensor]] = {}

    def encode(i: int) -> Callable[[tf.Tensor], tf.Tensor]:
        if i not in encodes:  # each traced once, used throughout
            encodes[i] = _compiled_encoder(encoders[i])
        return encodes[i]

    def split_features(i: int, split: str, images: np.ndarray) -> np.ndarray:
        if (keys[i], split) not in memo:
            memo[keys[i], split] = _encode_arrays(encode(i), images)
        return memo[keys[i], split]

    test_x = [split_features(i, "test", test_images) for i in range(len(encoders))]
    train_x = ([split_features(i, "train", train_images) for i in range(len(encoders))]
               if probe.protocol == "cached" else None)
    # The spread of each feature over the training split (cached: unaugmented images),
    # stored with the result: how a linear head sees the representation's scale.
    scalers = [standardizer(x) for x in train_x] if train_x is not None else None
    spreads = [std for _, std in scalers] if scalers is not None else [None] * len(encoders)
    if probe.head != "adam":  # cached only (check_probe): standardise with the train split
        train_x = [((x - m) / s).astype(np.float32) for x, (m, s) in zip(train_x, scalers)]
        test_x = [((x - m) / s).astype(np.float32) for x, (m, s) in zip(test_x, scalers)]
    if probe.head == "lbfgs":
        return [_with_spread(_lbfgs_probe(t.head, x, train_labels, xt, test_labels, names, scaler),
                             spread)
                for t, x, xt, scaler, spread in zip(trainers, train_x, test_x, scalers, spreads)]
    histories = [{"accuracy": [], "val_accuracy": []} for _ in encoders]
    rng = np.random.default_rng(probe.seed)
    for epoch in range(probe.epochs):
        for cbs in callbacks:
            for cb in cbs:
                cb.on_epoch_begin(epoch)
        if probe.protocol == "cached":
            order = rng.permutation(len(train_labels))
            epoch_x, epoch_y = train_x, train_labels
        else:
            order = np.arange(len(train_labels))
            batches = [[] for _ in encoders]
            labels = []
            for images, y in _augmented_stream(train_images, train_labels, probe, epoch):
                labels.append(y.numpy())
                for i, batch in enumerate(batches):
                    batch.append(encode(i)(images).numpy())
            epoch_x, epoch_y = [np.concatenate(b) for b in batches], np.concatenate(labels)
        for i, trainer in enumerate(trainers):
            logs = {"accuracy": trainer.train_epoch(epoch, epoch_x[i], epoch_y, order),
                    "val_accuracy": trainer.accuracy(test_x[i], test_labels),
                    "lr": learning_rate(probe, epoch)}
            histories[i]["accuracy"].append(logs["accuracy"])
            histories[i]["val_accuracy"].append(logs["val_accuracy"])
            for cb in callbacks[i]:
                cb.on_epoch_end(epoch, logs)
    outs = [_with_spread((summarise(h, test_labels, t.logits(x), names), t.head), spread)
            for h, t, x, spread in zip(histories, trainers, test_x, spreads)]
    if probe.head == "standardized":  # the stored head acts on raw features
        for (_, head), (mean, std) in zip(outs, scalers):
            _set_head(head, *fold_standardization(*_head_weights(head), mean, std))
    return outs


def _with_spread(out: tuple[dict[str, Any], tf_keras.Model], spread: np.ndarray | None
                 ) -> tuple[dict[str, Any], tf_keras.Model]:
    summary, head = out
    if spread is not None:
        summary = {**summary, "feature_std": [round(float(v), 6) for v in spread],
                   "feature_std_median": float(np.median(spread))}
    return summary, head


def _head_weights(head: tf_keras.Model) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = head.get_layer("probe_head").get_weights()
    return kernel.astype(np.float64), bias.astype(np.float64)


def _set_head(head: tf_keras.Model, kernel: np.ndarray, bias: np.ndarray) -> None:
    head.get_layer("probe_head").set_weights([kernel.astype(np.float32), bias.astype(np.float32)])


def _lbfgs_probe(head: tf_keras.Model, train_x: np.ndarray, train_y: np.ndarray,
                 test_x: np.ndarray, test_y: np.ndarray, names: Sequence[str],
                 scaler: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, Any], tf_keras.Model]:
    """The ``lbfgs`` head on standardised features: one fit, reported as one epoch."""
    kernel, bias, converged = fit_lbfgs(train_x, train_y, len(names))
    train_acc = float(np.mean((train_x @ kernel + bias).argmax(1) == train_y))
    logits = test_x @ kernel + bias
    history = {"accuracy": [train_acc], "val_accuracy": [float(np.mean(logits.argmax(1) == test_y))]}
    _set_head(head, *fold_standardization(kernel, bias, *scaler))
    return {**summarise(history, test_y, logits, names), "converged": converged}, head


def train_probe(
    encoder: tf_keras.Model,
    train_images: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    test_images: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
    names: Sequence[str],
    probe: ProbeConfig,
    callbacks: Sequence[tf_keras.callbacks.Callback] = (),
) -> tuple[dict[str, Any], tf_keras.Model]:
    """Train a linear head on one frozen encoder and evaluate it every epoch
    (:func:`train_probes` of one encoder; ``bench.keras_probe`` is the same probe by
    ``Model.fit``, kept for comparison).

    Args:
        encoder: images → y (frozen here).
        train_images, test_images: ``(image uint8, label)`` datasets or arrays.
        names: one class name per label.
        probe: protocol and schedule.
        callbacks: Keras callbacks of the head's training (e.g. progress).

    Returns:
        The summary dict (see ``summarise``) and the trained head.
    """
    [out] = train_probes([encoder], train_images, test_images, names, probe, [callbacks])
    return out


def probe_run(
    run_dir: str,
    steps: Sequence[int],
    probe: ProbeConfig,
    *,
    data_dir: str | None = None,
    datasets: tuple[tf.data.Dataset, tf.data.Dataset] | None = None,
    memo: dict[Any, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Probe checkpoints of a run, reusing results stored under the same settings.

    Holds each probed checkpoint's result lock (:func:`tfq_ssl.probe_store.probe_locked`),
    so several processes may probe one run, each checkpoint once.

    Args:
        run_dir: a pretraining run folder.
        steps: checkpoint steps to probe.
        probe: protocol and schedule.
        data_dir: TFDS data directory (default: the run's).
        datasets: ``(train, test)`` ``(image uint8, label)`` datasets, or arrays as
            :func:`split_arrays` returns them, to use instead of loading CIFAR-10.
        memo: features by checkpoint (:func:`train_probes`): the same dict (and the
            same ``datasets``) for the calls of several heads computes each
            checkpoint's features once.

    Returns:
        One result dict per step.
    """
    config_lib.check_probe(probe)
    run = Run(run_dir)
    names = run.class_names
    with contextlib.ExitStack() as locks:
        for s in dict.fromkeys(steps):
            locks.enter_context(probe_store.probe_locked(run_dir, probe, s))
        stored = {s: probe_store.read_probe_result(run_dir, probe, s) for s in steps}
        if None in stored.values() and datasets is None:
            datasets = run.splits(data_dir)
        todo = [s for s in dict.fromkeys(steps) if stored[s] is None]
        if todo:
            arrays = tuple(_arrays(d) for d in datasets)
            engine = feature_engine(run.config.model)
            # Cached: one checkpoint at a time (its features are all it needs). Paper: all
            # together, so that one augmented stream per epoch feeds every checkpoint.
            groups = [todo] if probe.protocol == "paper" else [[s] for s in todo]
            for group in groups:
                start = time.perf_counter()
                labels = {s: f"probe step {s} ({steps.index(s) + 1}/{len(steps)}, "
                             f"{probe.protocol})" for s in group}
                for s in group:
                    log.info("%s: %d epochs", labels[s], probe.epochs)
                encoders = [run.encoder(s, engine) for s in group]
                outs = train_probes(encoders, *arrays, names, probe,
                                    [[EpochProgress(labels[s], probe.epochs)] for s in group],
                                    memo, [(os.path.abspath(run_dir), s, engine) for s in group])
                seconds = (time.perf_counter() - start) / len(group)
                for s, (summary, head) in zip(group, outs):
                    stored[s] = _store(run_dir, s, probe, summary, head, seconds)
        return [stored[s] for s in steps]


def _store(run_dir: str, step: int, probe: ProbeConfig, summary: dict[str, Any],
           head: tf_keras.Model, seconds: float) -> dict[str, Any]:
    result = {
        "run": os.path.basename(os.path.normpath(run_dir)),
        "step": step,
        "protocol": probe.protocol,
        "probe_config": dataclasses.asdict(probe),
        "seconds": round(seconds, 2),
        "note": "best_test_accuracy selects the epoch on the test set (as the paper "
                "reports); final_test_accuracy does not.",
        **summary,
    }
    kernel, bias = head.get_layer("probe_head").get_weights()
    probe_store.write_probe_result(run_dir, probe, step, result, kernel, bias)
    log.info("probe step %d: result written (pid %d)", step, os.getpid())
    return result
