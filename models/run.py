"""One way into a trained run: :class:`Run` opens a pretraining run folder for reading.

Every command that uses a trained model (the probe, the confusion matrix, the device
evaluation, the sweeps' probes, the benchmarks) goes through it: the run's config and
checkpoints, its encoder at a step on an engine, its class names and data splits, a
seeded sample of test images, and the trained probe head of a protocol and step.
Opening a run reads only its config; TensorFlow loads when an encoder or a dataset is
first asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfq_ssl import probe_store, rundir
from tfq_ssl.config import CIFAR10_CLASSES, ModelConfig, ProbeConfig, RunConfig, resolve_classes
from tfq_ssl.errors import ConfigError, CorruptFileError, RunFolderError

# How :meth:`Run.encoder` chooses the engine of the quantum layer.
OWN_ENGINE = "own"          # the engine the run was trained with
FEATURE_ENGINE = "features"  # the fastest engine that computes the same features


def feature_engine(model: ModelConfig) -> str:
    """The engine that computes a run's features for ``model``'s representation.

    An exact, noise-free circuit trained on TFQ is simulated by the statevector engine
    instead: both compute the same ⟨Z⟩ to float32 rounding (tests/models/test_linear_probe.py
    checks it on a trained run) and the statevector engine is the faster one up to 12
    qubits (bench/README.md; above that the tensor network is, and it is exact only
    for the ring). Every other run keeps its own engine: sampled and noisy features are
    a property of the model being probed.
    """
    exact = model.shots is None and not model.noise and model.noise_from is None
    if (model.representation == "quantum" and model.engine == "tfq" and exact
            and model.width <= 12):
        return "statevector"
    return model.engine


@dataclasses.dataclass(frozen=True)
class ProbeHead:
    """A trained linear-probe head: ``logits = y @ kernel + bias``.

    Attributes:
        path: the ``.head.npz`` file it was read from.
        kernel: ``(W, classes)``.
        bias: ``(classes,)``.
    """

    path: str
    kernel: np.ndarray
    bias: np.ndarray

    def predict(self, y: np.ndarray) -> np.ndarray:
        """The predicted class of each representation in ``y`` ``(n, W)``."""
        return (np.asarray(y) @ self.kernel + self.bias).argmax(axis=1)


class Run:
    """A pretraining run folder, opened for reading.

    Args:
        path: the run folder (the one holding ``config.json``).

    Raises:
        RunFolderError: ``path`` is not a run folder. CorruptFileError / ConfigError: its
            config cannot be read.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.config: RunConfig = rundir.read_config(path)

    # ------------------------------------------------------------ what it holds

    @property
    def checkpoints(self) -> list[int]:
        """The steps of its weights checkpoints, in order."""
        return rundir.list_checkpoints(self.path)

    def select(self, spec: str) -> list[int]:
        """The checkpoint steps ``spec`` names: ``all``, ``latest`` or ``13,26``."""
        return rundir.select_checkpoints(self.path, spec)

    @property
    def class_names(self) -> list[str]:
        """Names of the run's classes, in label order."""
        return [CIFAR10_CLASSES[i]
                for i in resolve_classes(self.config.data.classes, len(CIFAR10_CLASSES))]

    # ------------------------------------------------------------ the model

    def encoder(self, step: int, engine: str = OWN_ENGINE) -> Any:
        """The encoder (images → y) with the weights of checkpoint ``step``.

        Args:
            step: one of :attr:`checkpoints`.
            engine: the quantum layer's engine. ``"own"`` (default): the run's own.
                ``"features"``: :func:`feature_engine`, which runs an exact circuit
                trained on TFQ on the statevector engine (the same features, faster).
                Any engine name (``"tfq"``, ``"statevector"``, ...) runs it there; the
                weights do not depend on the engine.

        Raises:
            RunFolderError: no such checkpoint. CorruptFileError: it does not load.
        """
        from models.simclr import build_simclr  # noqa: PLC0415 - TensorFlow loads here

        available = self.checkpoints
        if step not in available:
            raise RunFolderError(f"{self.path} has no checkpoint for step {step}; it has {available}.")
        prefix = rundir.checkpoint_prefix(self.path, step)
        try:
            rundir.verify_checkpoint(prefix)
        except CorruptFileError as err:
            raise CorruptFileError(
                f"{err}. Rerun the run's pretraining (python -m train.pretrain --config "
                f"{rundir.config_path(self.path)} --out {self.path}): it moves the corrupt "
                "checkpoint aside and recomputes it.") from None
        model = self.config.model
        if engine == FEATURE_ENGINE:
            engine = feature_engine(model)
        if engine != OWN_ENGINE:
            model = dataclasses.replace(model, engine=engine)
        simclr = build_simclr(model, temperature=self.config.train.temperature)
        simclr.load_weights(prefix).expect_partial()
        return simclr.encoder

    # ------------------------------------------------------------ the data

    def _split(self, split: str, data_dir: str | None) -> Any:
        from tfq_ssl.data import load_cifar10  # noqa: PLC0415 - TensorFlow loads here

        data = self.config.data
        return load_cifar10(split, data_dir=data_dir or data.data_dir, download=data.download,
                            classes=data.classes, remap_labels=data.remap_labels)

    def splits(self, data_dir: str | None = None) -> tuple[Any, Any]:
        """The run's CIFAR-10 ``(train, test)`` datasets of ``(image uint8, label)``.

        Args:
            data_dir: TFDS data directory (default: the run's).
        """
        return self._split("train", data_dir), self._split("test", data_dir)

    def test_sample(self, count: int, seed: int = 0, data_dir: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` random test images of the run's classes (seeded): uint8 images and
        labels, in test-split order. The paper evaluated its hardware runs on 900.

        Raises:
            ConfigError: the split has fewer than ``count`` images.
        """
        images, labels = map(np.stack, zip(*self._split("test", data_dir).as_numpy_iterator()))
        if count > len(labels):
            raise ConfigError(f"asked for {count} test images, the split has {len(labels)}; "
                              f"use --images {len(labels)} or fewer.")
        pick = np.sort(np.random.default_rng(seed).choice(len(labels), count, replace=False))
        return images[pick], labels[pick]

    # ------------------------------------------------------------ probes

    def probe_head(self, protocol: str, step: int) -> ProbeHead:
        """The trained head of ``step`` probed with ``protocol``: the default schedule's,
        else the only other one there is (:func:`tfq_ssl.probe_store.find_probe_head`).

        Raises:
            RunFolderError: none, or several with other settings (named).
        """
        path = probe_store.find_probe_head(self.path, protocol, step)
        kernel, bias = probe_store.read_head_file(path)
        return ProbeHead(path, kernel, bias)

    def probe(self, steps: list[int], probes: list[ProbeConfig], data_dir: str | None = None,
              splits: tuple[Any, Any] | None = None
              ) -> Iterator[tuple[ProbeConfig, list[dict[str, Any]]]]:
        """Probe checkpoints ``steps`` with each of ``probes``, reusing
        stored results. Yields ``(probe, results)`` as each head finishes, one result
        dict per step.

        The heads share the decoded splits and each checkpoint's features, so a second
        head costs only its own training.

        Args:
            data_dir: TFDS data directory (default: the run's).
            splits: decoded ``(train, test)`` arrays (``split_arrays``) to use instead
                of loading the run's splits (a caller probing several runs decodes once).
        """
        from models.linear_probe import probe_run, split_arrays  # noqa: PLC0415 - TF

        if splits is None and any(probe_store.read_probe_result(self.path, p, s) is None
                                  for p in probes for s in steps):
            splits = tuple(split_arrays(d) for d in self.splits(data_dir))
        memo: dict = {}
        for probe in probes:
            yield probe, probe_run(self.path, steps, probe, datasets=splits, memo=memo)
