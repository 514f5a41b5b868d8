"""Frozen run configurations, saved as JSON beside every run.

A run folder's ``config.json`` holds the fully resolved ``RunConfig``; any result can
be re-run from it (``python -m train.pretrain --config RUN_DIR/config.json``).
"""

from __future__ import annotations

import numbers
import typing
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

from tfq_ssl.checks import check_one_of, check_positive_int
from tfq_ssl.errors import ConfigError
from tfq_ssl.quantum.options import check_options
from tfq_ssl.quantum.device_noise import check_noise_from


CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

Classes = typing.Union[int, Sequence[int], None]


def resolve_classes(classes: Classes, num_total: int = 10) -> list[int]:
    """Turns a class selection into an explicit list of label ids.

    Args:
        classes: ``None`` for all classes; an int ``N`` for the first ``N`` classes
            (the paper's 5-class experiment is ``5``); or a sequence of distinct ids
            in ``[0, num_total)``, whose order fixes the remapped labels.
        num_total: number of classes in the dataset.

    Returns:
        The selected label ids, in order.

    Raises:
        ValueError: if ``classes`` is of the wrong type, empty, out of range or
            holds duplicates.
    """
    if classes is None:
        return list(range(num_total))
    if isinstance(classes, bool):
        raise ConfigError(f"classes must be None, an int or a sequence of ints, got {classes!r}.")
    if isinstance(classes, numbers.Integral):
        if not 1 <= classes <= num_total:
            raise ConfigError(f"classes as a count must lie in [1, {num_total}], got {classes}.")
        return list(range(int(classes)))
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise ConfigError(f"classes must be None, an int or a sequence of ints, got {classes!r}.")
    ids = list(classes)
    if not ids:
        raise ConfigError("classes must not be empty; pass None for all classes.")
    for c in ids:
        if isinstance(c, bool) or not isinstance(c, numbers.Integral) or not 0 <= c < num_total:
            raise ConfigError(
                f"class ids must be integers in [0, {num_total}), got {c!r} in {ids!r}."
            )
    if len(set(ids)) != len(ids):
        raise ConfigError(f"class ids must be unique, got {ids!r}.")
    return [int(c) for c in ids]


@dataclass(frozen=True)
class AugmentConfig:
    """Settings of the SimCLR augmentation pipeline (defaults: SimCLR for CIFAR-10).

    Attributes:
        crop_scale: (min, max) fraction of the image area kept by the random resized
            crop. ``(0.2, 1.0)`` for pretraining; the paper's linear-probe protocol
            uses ``(0.08, 1.0)``; ``(1.0, 1.0)`` keeps the whole image.
        crop_ratio: (min, max) aspect ratio of the crop.
        jitter_strength: colour-jitter strength ``s``: brightness, contrast and
            saturation factors are drawn from ``[1 - 0.8 s, 1 + 0.8 s]``, the hue shift
            from ``[-0.2 s, 0.2 s]`` (SimCLR; ``s = 0.5`` gives 0.4/0.4/0.4/0.1).
        jitter_random_order: apply the four jitter ops in a random order.
        p_jitter: probability of colour jitter.
        p_grayscale: probability of converting to grayscale (3 equal channels).
        p_flip: probability of a horizontal flip.
        rotation_degrees: rotate by a uniform angle in ``±rotation_degrees``
            (reflect padding); ``0`` turns rotation off.
        blur: apply Gaussian blur (sigma uniform in ``[0.1, 2.0]``) with ``p_blur``.
        p_blur: probability of blur when ``blur`` is on.
        blur_kernel_size: odd kernel size of the blur (SimCLR: 10 % of the image side).
        normalize: finish with CIFAR-10 mean/std normalisation (see :func:`normalize`);
            otherwise return floats in ``[0, 1]``.
        image_size: output side length.
    """

    crop_scale: tuple[float, float] = (0.2, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter_strength: float = 0.5
    jitter_random_order: bool = True
    p_jitter: float = 0.8
    p_grayscale: float = 0.2
    p_flip: float = 0.5
    rotation_degrees: float = 0.0
    blur: bool = False
    p_blur: float = 0.5
    blur_kernel_size: int = 3
    normalize: bool = True
    image_size: int = 32

    def __post_init__(self):
        # Accept lists (as read back from a JSON config) but store hashable tuples.
        for name in ("crop_scale", "crop_ratio"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 2:
                raise ConfigError(f"{name} must be a (min, max) pair, got {getattr(self, name)!r}.")
            object.__setattr__(self, name, value)
        lo, hi = self.crop_scale
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(
                f"crop_scale must satisfy 0 < min <= max <= 1, got {self.crop_scale!r}."
            )
        lo, hi = self.crop_ratio
        if not 0.0 < lo <= hi:
            raise ConfigError(f"crop_ratio must satisfy 0 < min <= max, got {self.crop_ratio!r}.")
        for name in ("p_jitter", "p_grayscale", "p_flip", "p_blur"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1], got {value!r}.")
        if self.jitter_strength < 0:
            raise ConfigError(f"jitter_strength must be >= 0, got {self.jitter_strength!r}.")
        if self.rotation_degrees < 0:
            raise ConfigError(
                f"rotation_degrees must be >= 0 (0 = off), got {self.rotation_degrees!r}."
            )
        if self.blur_kernel_size < 1 or self.blur_kernel_size % 2 == 0:
            raise ConfigError(
                f"blur_kernel_size must be a positive odd integer, got {self.blur_kernel_size!r}."
            )
        if self.image_size < 1:
            raise ConfigError(f"image_size must be >= 1, got {self.image_size!r}.")


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
        ansatz: ``"ring"``, ``"ring_product"`` (the ring with every CRX replaced by RX
            on its target: no entanglement) or ``"all_to_all"`` (quantum only).
        differentiator: ``"adjoint"`` or ``"parameter_shift"`` (quantum only).
        shots: ``None`` for exact expectations, else shots per circuit.
        engine: the simulator that executes the circuit: ``"tfq"``, ``"statevector"``
            or ``"tensornet"`` (quantum only; see ``tfq_ssl.quantum.factory``). Called
            ``backend`` in configs written before 2026-12, which still load.
        noise: depolarising probability per qubit and moment, simulated by TFQ's
            noisy backend (quantum only; needs ``differentiator="parameter_shift"``).
        noise_from: ``None``, or a fake backend (``"fake_fez"``) whose calibration is the
            noise to train and probe under, as Pauli trajectories on an exact engine
            (:mod:`tfq_ssl.quantum.device_noise`; quantum only).
        noise_trajectories: trajectories per row and call: for ``noise`` (TFQ's noisy
            backend; ``None`` = 200) and ``noise_from`` (``None`` = 1, a fresh draw
            every step).
        resnet_depth: 18 (or 34).
        stem: ``"imagenet"`` (paper's code) or ``"cifar"``.
        projection_head: use the projection head after y.
        init: ``"keras"`` (Keras' default initialisers) or ``"torch"`` (PyTorch's, as
            the paper's code; :mod:`models.init`).
        head_bn: the projection head's BatchNorm: ``"keras"`` (momentum 0.99, eps
            1e-3, Keras' defaults) or ``"torch"`` (momentum 0.9, eps 1e-5: PyTorch's
            ``BatchNorm1d`` defaults, as the paper's code).
        bn_per_view: pass each view through the network on its own, so BatchNorm
            normalises each view's batch separately (the paper's code: one forward
            per view), instead of both views as one batch of 2N.
        activation: the classical network's activation: ``"leaky_relu"`` (the
            paper's), ``"cos"`` (bounded and periodic, like ⟨Z⟩ of an RX-loaded qubit)
            or ``"tanh"`` (bounded, not periodic). Classical only.

    ``init``, ``head_bn``, ``bn_per_view`` and ``activation`` are missing from configs written
    before
    they existed; those load with the defaults, which is what they were trained with.
    """

    representation: str = "quantum"
    width: int = 8
    layers: int = 2
    ansatz: str = "ring"
    differentiator: str = "adjoint"
    shots: int | None = None
    engine: str = "tfq"
    noise: float = 0.0
    noise_from: str | None = None
    noise_trajectories: int | None = None
    resnet_depth: int = 18
    stem: str = "imagenet"
    projection_head: bool = True
    init: str = "keras"
    head_bn: str = "keras"
    bn_per_view: bool = False
    activation: str = "leaky_relu"

    def quantum_options(self) -> dict[str, Any]:
        """Options of the quantum representation network (empty for other kinds)."""
        if self.representation != "quantum":
            return {}
        options = dict(ansatz=self.ansatz, differentiator=self.differentiator,
                       shots=self.shots, engine=self.engine)
        if self.noise:
            options["noise"] = self.noise
        if self.noise_from is not None:
            options["noise_from"] = self.noise_from
        if self.noise_trajectories is not None:
            options["noise_trajectories"] = self.noise_trajectories
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
        seed: seeds the weights' initialisation and, unless ``data_seed`` is given,
            the data order and augmentations.
        data_seed: seeds the data order and the augmentations on their own (``None``:
            ``seed``). Fixing it while ``seed`` varies (or the reverse) separates the
            two sources of seed-to-seed spread.
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
    data_seed: int | None = None

    @property
    def stream_seed(self) -> int:
        """The seed of the data order and augmentations."""
        return self.seed if self.data_seed is None else self.data_seed


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
        head: how the linear head is fitted: ``"adam"`` (the paper's: Adam on the raw
            features, the schedule above), ``"standardized"`` (the same Adam head on
            features scaled by the training split's mean and std) or ``"lbfgs"``
            (multinomial logistic regression fitted to convergence by L-BFGS on
            standardised features; epochs and schedule do not apply). The last two
            need the cached protocol. Missing from results stored before it existed,
            which were all ``"adam"``.
    """

    protocol: str = "cached"
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-6
    milestones: tuple[float, ...] = (0.6, 0.8)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    seed: int = 0
    head: str = "adam"


def checkpoint_steps(train: TrainConfig) -> list[int]:
    """The steps a run of ``train`` saves checkpoints at: every ``save_every`` and the last."""
    steps = list(range(train.save_every, train.steps + 1, train.save_every))
    return steps if steps and steps[-1] == train.steps else [*steps, train.steps]


# Allowed values, by key (the layer checks the quantum ones: tfq_ssl.quantum.options).
REPRESENTATIONS = ("quantum", "classical", "identity")
RESNET_DEPTHS = (10, 18, 34)
STEMS = ("imagenet", "cifar")
INITS = ("keras", "torch")
ACTIVATIONS = ("leaky_relu", "cos", "tanh")
PROTOCOLS = ("paper", "cached")
HEADS = ("adam", "standardized", "lbfgs")


def _positive(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{key} must be a number > 0, got {value!r}.")


def check_model(model: "ModelConfig", prefix: str = "model.") -> None:
    """Raise :class:`ConfigError` for a value or a combination the model cannot build."""
    check_one_of(f"{prefix}representation", model.representation, REPRESENTATIONS)
    check_positive_int(f"{prefix}width", model.width)
    check_positive_int(f"{prefix}layers", model.layers)
    check_one_of(f"{prefix}resnet_depth", model.resnet_depth, RESNET_DEPTHS)
    check_one_of(f"{prefix}stem", model.stem, STEMS)
    check_one_of(f"{prefix}init", model.init, INITS)
    check_one_of(f"{prefix}head_bn", model.head_bn, INITS)
    if not isinstance(model.bn_per_view, bool):
        raise ConfigError(f"{prefix}bn_per_view must be true or false, got {model.bn_per_view!r}.")
    check_one_of(f"{prefix}activation", model.activation, ACTIVATIONS)
    if model.activation != "leaky_relu" and model.representation != "classical":
        raise ConfigError(
            f"{prefix}activation={model.activation!r} applies to the classical network only; "
            f"got {prefix}representation={model.representation!r}.")
    if model.representation == "quantum":
        check_options(ansatz=model.ansatz, differentiator=model.differentiator,
                      shots=model.shots, engine=model.engine, noise=model.noise,
                      layers=model.layers, prefix=prefix, noise_from=model.noise_from)
        check_positive_int(f"{prefix}noise_trajectories", model.noise_trajectories,
                           none_means="the engine's default")
        if model.noise_from is not None:
            check_noise_from(model.noise_from, prefix)
    elif model.noise_from is not None or model.noise_trajectories is not None:
        raise ConfigError(
            f"{prefix}noise_from and {prefix}noise_trajectories apply to the quantum network "
            f"only; got {prefix}representation={model.representation!r}.")


def check_run(config: "RunConfig") -> None:
    """Validate a whole run config; the error names the key, the value and what is allowed."""
    if not isinstance(config.name, str) or not config.name:
        raise ConfigError(f"name must be a non-empty string, got {config.name!r}.")
    data = config.data
    if data.dataset != "cifar10":
        raise ConfigError(f"data.dataset must be 'cifar10' (the only one supported), got {data.dataset!r}.")
    try:
        resolve_classes(data.classes, len(CIFAR10_CLASSES))
    except ConfigError as err:
        raise ConfigError(f"data.classes: {err}") from None
    if len(resolve_classes(data.classes, len(CIFAR10_CLASSES))) < 2:
        raise ConfigError(f"data.classes must select >= 2 classes (for the linear probe), "
                          f"got {data.classes!r}.")
    check_positive_int("data.shuffle_buffer", data.shuffle_buffer)
    check_model(config.model)
    train = config.train
    check_positive_int("train.batch_size", train.batch_size, minimum=2)  # NT-Xent needs negatives
    check_positive_int("train.steps", train.steps)
    check_positive_int("train.save_every", train.save_every)
    check_positive_int("train.hs_batch", train.hs_batch)
    _positive("train.learning_rate", train.learning_rate)
    _positive("train.temperature", train.temperature)
    if train.weight_decay < 0:
        raise ConfigError(f"train.weight_decay must be >= 0, got {train.weight_decay!r}.")
    check_positive_int("train.seed", train.seed, minimum=0)
    if train.data_seed is not None:
        check_positive_int("train.data_seed", train.data_seed, minimum=0)


def check_probe(probe: ProbeConfig) -> None:
    """Validate probe settings (see :func:`check_run`)."""
    check_one_of("protocol", probe.protocol, PROTOCOLS)
    check_one_of("head", probe.head, HEADS)
    if probe.head != "adam" and probe.protocol != "cached":
        raise ConfigError(f"head {probe.head!r} fits fixed features and needs the cached "
                          f"protocol, got protocol {probe.protocol!r}.")
    check_positive_int("epochs", probe.epochs)
    check_positive_int("batch_size", probe.batch_size)
    _positive("learning_rate", probe.learning_rate)
    if any(not 0 < m <= 1 for m in probe.milestones):
        raise ConfigError(f"milestones must be fractions in (0, 1], got {probe.milestones!r}.")
