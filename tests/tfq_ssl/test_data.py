import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow)

import os
import time

import numpy as np
import pytest
import tensorflow as tf

from tfq_ssl import data
from tfq_ssl.augment import AugmentConfig, make_augment

NUM = 40  # 4 images per class, labels 0..9 cycling


def tiny_dataset(num=NUM):
    images = np.random.default_rng(0).integers(0, 256, (num, 32, 32, 3)).astype(np.uint8)
    labels = (np.arange(num) % 10).astype(np.int64)  # TFDS gives int64 labels
    return tf.data.Dataset.from_tensor_slices((images, labels))


def labels_of(ds):
    return [int(label) for _, label in ds]


def test_constants():
    assert len(data.CIFAR10_CLASSES) == 10 and data.CIFAR10_CLASSES[:2] == (
        "airplane",
        "automobile",
    )
    assert len(data.CIFAR10_MEAN) == len(data.CIFAR10_STD) == 3
    assert all(0 < v < 1 for v in data.CIFAR10_MEAN + data.CIFAR10_STD)


@pytest.mark.parametrize(
    "classes,expected",
    [
        (None, list(range(10))),
        (5, [0, 1, 2, 3, 4]),
        (np.int64(2), [0, 1]),
        ([7, 2], [7, 2]),
        ((0,), [0]),
    ],
)
def test_resolve_classes(classes, expected):
    assert data.resolve_classes(classes) == expected


@pytest.mark.parametrize(
    "classes,match",
    [
        (0, r"\[1, 10\]"),
        (11, r"\[1, 10\]"),
        ([], "empty"),
        ([1, 1], "unique"),
        ([3, 10], r"\[0, 10\)"),
        ([-1], r"\[0, 10\)"),
        ("abc", "sequence of ints"),
        (True, "sequence of ints"),
        ([1.5], r"\[0, 10\)"),
    ],
)
def test_resolve_classes_rejects(classes, match):
    with pytest.raises(ValueError, match=match):
        data.resolve_classes(classes)


def test_select_classes_filters_and_remaps_in_list_order():
    ds = data.select_classes(tiny_dataset(), [7, 2], remap_labels=True)
    labels = labels_of(ds)
    assert len(labels) == 8 and sorted(set(labels)) == [0, 1]
    original = labels_of(data.select_classes(tiny_dataset(), [7, 2], remap_labels=False))
    assert [{7: 0, 2: 1}[c] for c in original] == labels


def test_select_classes_first_n_and_all():
    assert sorted(set(labels_of(data.select_classes(tiny_dataset(), 3)))) == [0, 1, 2]
    ds = data.select_classes(tiny_dataset(), None)
    assert labels_of(ds) == list(np.arange(NUM) % 10)
    assert ds.element_spec[1].dtype == tf.int32


def test_missing_data_raises_clear_error(tmp_path):
    with pytest.raises(data.DatasetUnavailableError, match="TFDS_DATA_DIR") as info:
        data.load_cifar10("train", data_dir=str(tmp_path), download=False)
    assert "--data-dir" in str(info.value)
    assert info.value.__cause__ is not None
    assert isinstance(info.value, RuntimeError)


def test_count_examples_missing_data_raises(tmp_path):
    with pytest.raises(data.DatasetUnavailableError):
        data.count_examples("test", data_dir=str(tmp_path), download=False)


@pytest.fixture
def fake_tfds(monkeypatch):
    calls = []

    def fake_load(name, **kwargs):
        calls.append((name, kwargs))
        return tiny_dataset()

    monkeypatch.setattr(data.tfds, "load", fake_load)
    monkeypatch.setattr(data, "_is_prepared", lambda data_dir: True)  # as if TFDS had it
    return calls


def test_load_cifar10_calls_tfds_and_selects(fake_tfds):
    ds = data.load_cifar10("test", data_dir="/some/dir", download=False, classes=[3, 5])
    assert sorted(set(labels_of(ds))) == [0, 1]
    name, kwargs = fake_tfds[0]
    assert name == "cifar10"
    assert kwargs["split"] == "test" and kwargs["data_dir"] == "/some/dir"
    assert kwargs["download"] is False and kwargs["as_supervised"] is True


def test_count_examples(fake_tfds):
    assert data.count_examples("train", classes=5) == NUM // 2
    assert data.count_examples("train") == NUM


def test_pretraining_dataset_shapes_and_views():
    ds = data.pretraining_dataset(
        data.select_classes(tiny_dataset(), 5),
        batch_size=4,
        augment=make_augment(),
        seed=0,
        repeat=False,
    )
    batches = list(ds)
    assert len(batches) == (NUM // 2) // 4
    (v1, v2), labels = batches[0]
    assert v1.shape == v2.shape == (4, 32, 32, 3)
    assert v1.dtype == v2.dtype == tf.float32 and labels.dtype == tf.int32
    assert np.abs(v1 - v2).max() > 1e-3


def test_pretraining_dataset_drops_remainder_and_repeats():
    ds = data.pretraining_dataset(
        tiny_dataset(10), batch_size=4, augment=make_augment(), seed=0, repeat=False
    )
    assert len(list(ds)) == 2
    ds = data.pretraining_dataset(tiny_dataset(10), batch_size=4, augment=make_augment(), seed=0)
    assert len(list(ds.take(5))) == 5


def test_pretraining_dataset_is_reproducible_given_seed():
    def first(seed):
        ds = data.pretraining_dataset(
            tiny_dataset(), batch_size=4, augment=make_augment(), seed=seed, shuffle_buffer=NUM
        )
        (v1, v2), labels = next(iter(ds))
        return v1.numpy(), v2.numpy(), labels.numpy()

    a, b, c = first(1), first(1), first(2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_pretraining_dataset_accepts_seedless_augment():
    def augment(image):
        return tf.cast(image, tf.float32) / 255.0 + tf.random.uniform([])

    ds = data.pretraining_dataset(tiny_dataset(), batch_size=2, augment=augment, seed=0)
    (v1, v2), _ = next(iter(ds))
    assert v1.shape == (2, 32, 32, 3) and np.abs(v1 - v2).max() > 0


def test_pretraining_dataset_rejects_batch_of_one():
    with pytest.raises(ValueError, match="batch_size"):
        data.pretraining_dataset(tiny_dataset(), batch_size=1, augment=make_augment(), seed=0)


def test_probe_dataset_without_augment_normalises_in_order():
    ds = data.probe_dataset(tiny_dataset(10), batch_size=4, shuffle=False)
    batches = list(ds)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert images.dtype == tf.float32 and labels.dtype == tf.int32
    raw = next(iter(tiny_dataset(10).batch(4)))[0]
    np.testing.assert_allclose(images, data.normalize(raw), atol=1e-6)
    np.testing.assert_array_equal(labels, [0, 1, 2, 3])


def test_probe_dataset_with_augment_and_shuffle():
    augment = make_augment(AugmentConfig(crop_scale=(0.08, 1.0)))
    ds = data.probe_dataset(
        tiny_dataset(10), batch_size=4, augment=augment, shuffle=True, seed=3, drop_remainder=True
    )
    batches = list(ds)
    assert len(batches) == 2 and batches[0][0].shape == (4, 32, 32, 3)
    again = list(
        data.probe_dataset(
            tiny_dataset(10),
            batch_size=4,
            augment=augment,
            shuffle=True,
            seed=3,
            drop_remainder=True,
        )
    )
    np.testing.assert_array_equal(batches[0][0], again[0][0])


def test_offline_download_fails_at_once_with_one_clear_error(tmp_path, monkeypatch):
    def unreachable(address, timeout):
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(data.socket, "create_connection", unreachable)
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError, match="www.cs.toronto.edu cannot be reached"):
        data.load_cifar10("train", data_dir=str(tmp_path), download=True)
    assert time.perf_counter() - start < 10
    assert not any(name.endswith(".tmp") or ".tmp." in name
                   for _, _, files in os.walk(tmp_path) for name in files)


def test_failed_download_removes_its_partial_file(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(data, "_check_reachable", lambda url: None)
    partial = tmp_path / "downloads" / "cs.toronto.edu_kriz_cifar-10-binary.tar.gz.tmp.1a2b"
    kept = tmp_path / "downloads" / "someone-else.tar.gz"

    def failing_load(name, **kwargs):
        partial.parent.mkdir(exist_ok=True)
        partial.write_bytes(b"half a download")
        raise ConnectionError("connection reset")

    kept.parent.mkdir()
    kept.write_bytes(b"x")
    monkeypatch.setattr(data.tfds, "load", failing_load)
    caplog.set_level("INFO")
    with pytest.raises(data.DatasetUnavailableError, match="downloading it failed"):
        data.load_cifar10("train", data_dir=str(tmp_path), download=True)
    assert "downloads https://www.cs.toronto.edu" in caplog.text  # said before it started
    assert not partial.exists() and kept.exists()


def test_skipped_batches_equal_the_unskipped_stream():
    from tfq_ssl.augment import make_augment
    from tfq_ssl.config import AugmentConfig

    def stream(skip):
        ds = data.pretraining_dataset(tiny_dataset(), batch_size=4, augment=make_augment(
            AugmentConfig()), seed=3, shuffle_buffer=16, skip_batches=skip)
        return [(v1.numpy(), y.numpy()) for (v1, _), y in ds.take(3)]

    full, skipped = stream(0), stream(2)
    np.testing.assert_array_equal(skipped[0][0], full[2][0])
    np.testing.assert_array_equal(skipped[0][1], full[2][1])
