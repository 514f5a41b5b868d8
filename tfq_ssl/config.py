"""Frozen run configurations, saved as JSON beside every run.

A run folder's ``config.json`` holds the fully resolved ``RunConfig``; any result can
be re-run from it (``python -m train.pretrain --config RUN_DIR/config.json``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from tfq_ssl.augment import AugmentConfig


@dataclass(frozen=True)
class DataConfig:
    """Which images a run sees.

    Attributes:
        dataset: TFDS name (CIFAR-10 is what the paper uses).
        classes: an int N for the first N classes, or an explicit list of labels.
        remap_labels: map the chosen labels to 0..k-1 in the order of ``classes``.
        data_dir: TFDS data directory; ``None`` lets TFDS use ``TFDS_DATA_DIR`` or its default.
        download: let TFDS download the data when it is missing.
        shuffle_buffer: shuffle buffer of the training stream.
    """

    dataset: str = "cifar10"
    classes: int | tuple[int, ...] = 5
    remap_labels: bool = True
    data_dir: str | None = None
    download: bool = True
    shuffle_buffer: int = 10000


@dataclass(frozen=True)
class ModelConfig:
    """Encoder, representation network and projection head (paper Sec. 3, Fig. 2).

    Attributes:
        representation: ``"quantum"``, ``"classical"`` or ``"identity"``.
        width: W, qubits / neurons of the representation network.
        layers: L, ansatz / MLP layers.
        ansatz: ``"ring"`` or ``"all_to_all"`` (quantum only).
        differentiator: ``"adjoint"`` or ``"parameter_shift"`` (quantum only).
        shots: ``None`` for exact expectations, else shots per circuit.
        backend: ``"tfq"``, ``"statevector"`` or ``"tensornet"`` (quantum only).
        noise: depolarising probability per qubit and moment, simulated by TFQ's
            noisy backend (quantum only; needs ``differentiator="parameter_shift"``).
        resnet_depth: 18 (or 34).
        stem: ``"imagenet"`` (paper's code) or ``"cifar"``.
        projection_head: use the projection head after y.
    """

    representation: str = "quantum"
    width: int = 8
    layers: int = 2
    ansatz: str = "ring"
    differentiator: str = "adjoint"
    shots: int | None = None
    backend: str = "tfq"
    noise: float = 0.0
    resnet_depth: int = 18
    stem: str = "imagenet"
    projection_head: bool = True

    def quantum_options(self) -> dict[str, Any]:
        """Options of the quantum representation network (empty for other kinds)."""
        if self.representation != "quantum":
            return {}
        options = dict(ansatz=self.ansatz, differentiator=self.differentiator,
                       shots=self.shots, backend=self.backend)
        if self.noise:
            options["noise"] = self.noise
        return options


@dataclass(frozen=True)
class TrainConfig:
    """Pretraining schedule (paper Appendix A).

    Attributes:
        batch_size: images per batch (each gives two views).
        steps: total number of batches.
        learning_rate: Adam learning rate.
        weight_decay: Adam weight decay.
        temperature: NT-Xent τ.
        save_every: save a checkpoint every this many batches (the paper probed every 13).
        seed: seeds weights, shuffling and augmentations.
        hs_metrics: log Hilbert–Schmidt metrics at checkpoints (quantum runs).
        hs_batch: images used for those metrics.
    """

    batch_size: int = 256
    steps: int = 176
    learning_rate: float = 1e-3
    weight_decay: float = 1e-6
    temperature: float = 0.07
    save_every: int = 13
    seed: int = 0
    hs_metrics: bool = True
    hs_batch: int = 64


@dataclass(frozen=True)
class RunConfig:
    """Everything a pretraining run needs."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class ProbeConfig:
    """Linear-probe training (as the paper's code does it).

    Attributes:
        protocol: ``"paper"`` (augmented training images, features recomputed every
            epoch) or ``"cached"`` (features computed once without augmentation).
        epochs: head training epochs.
        batch_size: images per batch.
        learning_rate: Adam learning rate.
        weight_decay: Adam weight decay.
        milestones: fractions of ``epochs`` after which the rate drops ×0.1
            (the paper: epochs 60 and 80 of 100).
        crop_scale: random-resized-crop scale of the paper protocol's augmentation.
        seed: seeds the head and the data order.
    """

    protocol: str = "cached"
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-6
    milestones: tuple[float, ...] = (0.6, 0.8)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    seed: int = 0


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Turn a JSON value into the annotated field type (tuples come back as lists)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {value!r}.")
        return from_dict(tp, value, where)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except (TypeError, ValueError) as err:
                errors.append(str(err))
        raise ValueError(f"{where}: {value!r} fits none of {tp}.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}.")
        inner = args[0] if args else Any
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return tuple(_coerce(inner, v, where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} items, got {value!r}.")
        return tuple(_coerce(a, v, where) for a, v in zip(args, value))
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true/false, got {value!r}.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: expected a number, got {value!r}.")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}.")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config") -> Any:
    """Build a config dataclass from a dict, checking names and types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(names)}.")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def save_json(config: RunConfig, path: str) -> None:
    """Write ``config`` as JSON atomically (a crash never leaves half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(to_dict(config), f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def load_json(path: str) -> RunConfig:
    """Read a ``RunConfig`` saved by ``save_json``."""
    with open(path) as f:
        return from_dict(RunConfig, json.load(f))


def override(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply ``section.key=value`` overrides; values are parsed as JSON when they can be.

    Example: ``["model.width=4", "train.steps=10", "data.classes=[0, 1]"]``.
    """
    data = to_dict(config)
    for item in assignments:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.key=value.")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"override {item!r}: no section {part!r} in the config.")
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ValueError(
                f"override {item!r}: no key {parts[-1]!r}; valid keys: "
                f"{sorted(node) if isinstance(node, dict) else []}."
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node[parts[-1]] = value
    return from_dict(RunConfig, data)
