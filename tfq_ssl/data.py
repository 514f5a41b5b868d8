"""CIFAR-10 through TensorFlow Datasets, class subsets and paired-view pipelines.

Paper: Jaderberg et al., "Quantum Self-Supervised Learning" (2021/22): the main
experiments use the first five CIFAR-10 classes; SimCLR pretraining sees two
augmented views of each image, the linear probe sees single images.

Nothing here reads the environment: ``data_dir=None`` lets TFDS pick its default
directory (TFDS itself honours ``TFDS_DATA_DIR``).
"""

from __future__ import annotations

import glob
import inspect
import logging
import os
import shutil
import socket
import urllib.parse
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfq_ssl.config import CIFAR10_CLASSES, Classes, resolve_classes
from tfq_ssl.errors import UserError

# Per-channel statistics of the CIFAR-10 training set on the [0, 1] scale.
CIFAR10_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
CIFAR10_STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)

Augment = Callable[..., tf.Tensor]

log = logging.getLogger(__name__)


class DatasetUnavailableError(UserError, RuntimeError):
    """The dataset is neither in the TFDS data directory nor downloadable."""


def select_classes(
    ds: tf.data.Dataset, classes: Classes, remap_labels: bool = True, num_total: int = 10
) -> tf.data.Dataset:
    """Keeps the examples of a class subset of an ``(image, label)`` dataset.

    Args:
        ds: dataset of ``(image, label)`` with integer labels in ``[0, num_total)``.
        classes: selection as in :func:`resolve_classes`.
        remap_labels: relabel the kept classes ``0..k-1`` in the order of the class
            list; otherwise keep the original ids.
        num_total: number of classes in ``ds``.

    Returns:
        Dataset of ``(image, label int32)``.
    """
    ids = resolve_classes(classes, num_total)
    ds = ds.map(lambda image, label: (image, tf.cast(label, tf.int32)))
    if ids != list(range(num_total)):
        wanted = tf.constant(ids, tf.int32)
        ds = ds.filter(lambda image, label: tf.reduce_any(tf.equal(label, wanted)))
    if remap_labels and ids != list(range(len(ids))):
        mapping = np.full(num_total, -1, np.int32)
        mapping[ids] = np.arange(len(ids), dtype=np.int32)
        table = tf.constant(mapping)
        ds = ds.map(lambda image, label: (image, tf.gather(table, label)))
    return ds


def _is_prepared(data_dir: str | None) -> bool:
    try:
        return tfds.builder("cifar10", data_dir=data_dir).is_prepared()
    except Exception:  # noqa: BLE001 - any failure here means "not usable"
        return False


# What TFDS 4.9's cifar10 builder downloads when the data is missing (~163 MB).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


def _where(data_dir: str | None) -> str:
    if data_dir is not None:
        return f"data_dir={data_dir!r}"
    return "the default TFDS directory ($TFDS_DATA_DIR, else ~/tensorflow_datasets)"


def _unavailable(data_dir: str | None, why: str) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"CIFAR-10 (TFDS 'cifar10') is not available in {_where(data_dir)} and {why}. "
        "Set TFDS_DATA_DIR or pass --data-dir to a TensorFlow Datasets directory "
        "that holds cifar10, or allow downloading with network access."
    )


def _download_root(data_dir: str | None) -> str | None:
    try:  # <root>/cifar10/<version>
        return os.path.dirname(os.path.dirname(tfds.builder("cifar10", data_dir=data_dir).data_dir))
    except Exception:  # noqa: BLE001 - no usable folder: nothing to clean either
        return None


def _partial_files(root: str | None) -> set[str]:
    """Temporary download and preparation files TFDS leaves when it is interrupted."""
    if root is None:
        return set()
    return set(glob.glob(os.path.join(glob.escape(root), "downloads", "*.tmp*"))
               + glob.glob(os.path.join(glob.escape(root), "downloads", "*.incomplete*"))
               + glob.glob(os.path.join(glob.escape(root), "cifar10", "*incomplete*")))


def _check_reachable(url: str, timeout: float = 10.0) -> None:
    """Fail at once, rather than after minutes of TFDS retries, when the host is unreachable."""
    host = urllib.parse.urlsplit(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as err:
        raise OSError(f"{host} cannot be reached ({err})") from None


def _load_raw(split: str, data_dir: str | None, download: bool, decoders=None) -> tf.data.Dataset:
    root = None
    if download and not _is_prepared(data_dir):
        try:
            _check_reachable(CIFAR10_URL)
        except OSError as err:
            raise _unavailable(data_dir, f"downloading it is impossible: {err}") from None
        log.info("CIFAR-10 is not in %s: TFDS downloads %s (~163 MB) and prepares it there.",
                 _where(data_dir), CIFAR10_URL)
        root = _download_root(data_dir)
    before = _partial_files(root)
    try:
        return tfds.load(
            "cifar10",
            split=split,
            data_dir=data_dir,
            download=download,
            as_supervised=True,
            decoders=decoders,
        )
    except Exception as err:
        if _is_prepared(data_dir):
            raise  # the data is there: a genuine argument error such as a bad split
        for path in _partial_files(root) - before:
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        how = "downloading it failed" if download else "download=False"
        cause = " ".join(f"{type(err).__name__}: {err}".split())[:300]
        raise _unavailable(data_dir, f"{how} (cause: {cause})") from err


def check_available(*, data_dir: str | None = None, download: bool = True) -> None:
    """Make sure CIFAR-10 can be loaded (downloading it if allowed and missing), so a
    caller can fail before it writes anything.

    Raises:
        DatasetUnavailableError: the data is absent and cannot be downloaded.
    """
    if not _is_prepared(data_dir):
        _load_raw("train", data_dir, download)


def load_cifar10(
    split: str,
    *,
    data_dir: str | None = None,
    download: bool = True,
    classes: Classes = None,
    remap_labels: bool = True,
) -> tf.data.Dataset:
    """Loads a CIFAR-10 split, restricted to a class subset.

    Args:
        split: TFDS split, e.g. ``"train"``, ``"test"`` or ``"train[:10%]"``.
        data_dir: TFDS data directory; ``None`` for TFDS's default.
        download: allow TFDS to download and prepare the data if absent.
        classes: selection as in :func:`resolve_classes`.
        remap_labels: relabel the kept classes ``0..k-1`` (see :func:`select_classes`).

    Returns:
        Dataset of ``(image uint8, label int32)``.

    Shape:
        image ``(32, 32, 3)``, label ``()``.

    Raises:
        DatasetUnavailableError: the data is absent and cannot be downloaded.
        ValueError: ``classes`` is invalid.
    """
    ids = resolve_classes(classes, len(CIFAR10_CLASSES))
    ds = _load_raw(split, data_dir, download)
    return select_classes(ds, ids, remap_labels, len(CIFAR10_CLASSES))


def count_examples(
    split: str,
    *,
    data_dir: str | None = None,
    download: bool = True,
    classes: Classes = None,
) -> int:
    """Number of examples of a split within a class subset.

    Reads the labels only (images are not decoded): about a second for CIFAR-10.

    Args:
        split: TFDS split.
        data_dir: TFDS data directory; ``None`` for TFDS's default.
        download: allow TFDS to download the data if absent.
        classes: selection as in :func:`resolve_classes`.

    Returns:
        The example count, e.g. 25,000 for ``"train"`` with ``classes=5``.
    """
    ids = resolve_classes(classes, len(CIFAR10_CLASSES))
    ds = _load_raw(split, data_dir, download, decoders={"image": tfds.decode.SkipDecoding()})
    ds = select_classes(ds, ids, remap_labels=False, num_total=len(CIFAR10_CLASSES))
    labels = ds.map(lambda image, label: label).batch(8192)
    return int(labels.reduce(tf.constant(0, tf.int64), lambda n, b: n + tf.size(b, tf.int64)))


def to_float(image: tf.Tensor) -> tf.Tensor:
    """uint8 ``[0, 255]`` → float32 ``[0, 1]``; a float image is taken as ``[0, 1]``."""
    image = tf.convert_to_tensor(image)
    if image.dtype.is_integer:
        return tf.image.convert_image_dtype(image, tf.float32)
    return tf.cast(image, tf.float32)


# Not converted by AutoGraph: plain tensor arithmetic (see augment_image).
@tf.autograph.experimental.do_not_convert
def normalize(image: tf.Tensor) -> tf.Tensor:
    """Per-channel CIFAR-10 standardisation ``(x - mean) / std``.

    Args:
        image: uint8 in ``[0, 255]`` or float in ``[0, 1]``.

    Returns:
        float32 image of the same shape.

    Shape:
        ``(..., H, W, 3)`` → ``(..., H, W, 3)``.
    """
    mean = tf.constant(CIFAR10_MEAN, tf.float32)
    std = tf.constant(CIFAR10_STD, tf.float32)
    return (to_float(image) - mean) / std


def _accepts_seed(fn: Callable) -> bool:
    try:
        return "seed" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _seeded_map(ds: tf.data.Dataset, seed: int, fn: Callable, skip: int = 0) -> tf.data.Dataset:
    """Maps ``fn(image, label, seed)`` with a stateless seed (shape ``[2]``) per element.

    ``skip`` drops that many leading elements before ``fn`` runs on any of them.
    """
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip((ds, seeds)).skip(skip)
    return ds.map(lambda example, s: fn(*example, s), num_parallel_calls=tf.data.AUTOTUNE)


def _check_batch_size(batch_size: int, minimum: int) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < minimum
    ):
        raise ValueError(f"batch_size must be an integer >= {minimum}, got {batch_size!r}.")


def pretraining_dataset(
    ds: tf.data.Dataset,
    *,
    batch_size: int,
    augment: Augment,
    seed: int,
    shuffle_buffer: int = 10000,
    repeat: bool = True,
    skip_batches: int = 0,
) -> tf.data.Dataset:
    """Batches of two independently augmented views per image, for SimCLR pretraining.

    If ``augment`` takes a ``seed`` keyword (as ``tfq_ssl.augment.make_augment``'s
    functions do), each view gets its own stateless seed drawn from ``seed``, so the
    stream is reproducible; otherwise ``augment(image)`` is simply called twice.

    Args:
        ds: dataset of ``(image uint8, label)``.
        batch_size: images per batch ``N`` (``2N`` views); the last partial batch is
            dropped, since NT-Xent needs equal-size batches.
        augment: maps one image to one float32 view.
        seed: seed of the shuffle and of the augmentation draws.
        shuffle_buffer: shuffle buffer size; larger than the dataset = full shuffle.
        repeat: repeat forever (give ``model.fit`` a ``steps_per_epoch``).
        skip_batches: start at this batch of the stream (a resumed run); the skipped
            images are shuffled past but never augmented, and the batches that follow
            equal those of the unskipped stream.

    Returns:
        Dataset of ``((view1, view2), label)``.

    Shape:
        view1, view2 ``(N, 32, 32, 3)`` float32; label ``(N,)`` int32.
    """
    _check_batch_size(batch_size, 2)
    if shuffle_buffer < 1:
        raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer!r}.")
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if _accepts_seed(augment):

        def pair(image, label, s):
            s1, s2 = tf.unstack(tf.random.experimental.stateless_split(s, 2))
            views = (
                tf.cast(augment(image, seed=s1), tf.float32),
                tf.cast(augment(image, seed=s2), tf.float32),
            )
            return views, tf.cast(label, tf.int32)

        ds = _seeded_map(ds, seed, pair, skip=skip_batches * batch_size)
    else:
        ds = ds.skip(skip_batches * batch_size).map(
            lambda image, label: (
                (tf.cast(augment(image), tf.float32), tf.cast(augment(image), tf.float32)),
                tf.cast(label, tf.int32),
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def probe_dataset(
    ds: tf.data.Dataset,
    *,
    batch_size: int,
    augment: Augment | None = None,
    shuffle: bool,
    seed: int = 0,
    drop_remainder: bool = False,
    shuffle_buffer: int = 10000,
) -> tf.data.Dataset:
    """Single-view batches for training or evaluating the linear probe.

    Args:
        ds: dataset of ``(image uint8, label)``.
        batch_size: images per batch.
        augment: maps one image to one float32 view (seeded as in
            :func:`pretraining_dataset`); ``None`` only normalises (:func:`normalize`).
        shuffle: shuffle (training) or keep the order (evaluation).
        seed: seed of the shuffle and of the augmentation draws.
        drop_remainder: drop the last partial batch.
        shuffle_buffer: shuffle buffer size.

    Returns:
        Dataset of ``(image, label)``.

    Shape:
        image ``(B, 32, 32, 3)`` float32; label ``(B,)`` int32.
    """
    _check_batch_size(batch_size, 1)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if augment is None:
        ds = ds.map(
            lambda image, label: (normalize(image), tf.cast(label, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    elif _accepts_seed(augment):
        ds = _seeded_map(
            ds,
            seed,
            lambda image, label, s: (
                tf.cast(augment(image, seed=s), tf.float32),
                tf.cast(label, tf.int32),
            ),
        )
    else:
        ds = ds.map(
            lambda image, label: (tf.cast(augment(image), tf.float32), tf.cast(label, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
