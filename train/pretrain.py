"""SimCLR pretraining: ``python -m train.pretrain --preset NAME --out RUN_DIR``.

A run folder holds ``config.json`` (the resolved config), ``checkpoints/`` (weights
every ``save_every`` batches and at the end), ``metrics.csv`` (every batch),
``hilbert_schmidt.csv`` (quantum runs), ``tensorboard/`` and ``state.json``.
Killing a run and rerunning the same command continues from its last backup and
ends with the same number of steps; rerunning a finished run does nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from models.simclr import angle_model, build_simclr, quantum_layer
from tfq_ssl import config as config_lib
from tfq_ssl.augment import make_augment
from tfq_ssl.config import RunConfig
from tfq_ssl.data import load_cifar10, pretraining_dataset
from train.callbacks import BatchLogger, HilbertSchmidtLogger, StepCheckpoint
from train.presets import get_preset

CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
CHECKPOINT_DIR = "checkpoints"


def checkpoint_path(run_dir: str, step: int) -> str:
    """Weights checkpoint prefix of ``step`` in a run folder."""
    return os.path.join(run_dir, CHECKPOINT_DIR, f"step-{step:05d}")


def list_checkpoints(run_dir: str) -> list[int]:
    """Steps that have a saved checkpoint, ascending."""
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    if not os.path.isdir(folder):
        return []
    return sorted(
        int(name[len("step-"):-len(".index")])
        for name in os.listdir(folder)
        if name.startswith("step-") and name.endswith(".index")
    )


def prepare_run_dir(config: RunConfig, run_dir: str) -> None:
    """Create the run folder and save the config; refuse a folder of another run."""
    os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), exist_ok=True)
    path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.exists(path):
        existing = config_lib.load_json(path)
        # Where the data lives is not part of the experiment: a resume may move it.
        same_data = dataclasses.replace(existing.data, data_dir=config.data.data_dir)
        if dataclasses.replace(existing, data=same_data) != config:
            raise ValueError(
                f"{run_dir} already holds a run with a different config ({path}). "
                "Rerun with the same settings to resume it, or choose a new --out."
            )
    else:
        config_lib.save_json(config, path)


def _read_state(run_dir: str) -> dict[str, Any]:
    path = os.path.join(run_dir, STATE_FILE)
    if not os.path.exists(path):
        return {"done": False}
    with open(path) as f:
        return json.load(f)


def _write_state(run_dir: str, state: dict[str, Any]) -> None:
    path = os.path.join(run_dir, STATE_FILE)
    with open(f"{path}.tmp", "w") as f:
        json.dump(state, f, indent=2)
    os.replace(f"{path}.tmp", path)


def training_data(config: RunConfig) -> tf.data.Dataset:
    """The run's stream of ``((view1, view2), label)`` batches from CIFAR-10."""
    images = load_cifar10(
        "train",
        data_dir=config.data.data_dir,
        download=config.data.download,
        classes=config.data.classes,
        remap_labels=config.data.remap_labels,
    )
    return pretraining_dataset(
        images,
        batch_size=config.train.batch_size,
        augment=make_augment(config.augment),
        seed=config.train.seed,
        shuffle_buffer=config.data.shuffle_buffer,
    )


def pretrain(
    config: RunConfig,
    run_dir: str,
    *,
    dataset: tf.data.Dataset | None = None,
    callbacks: list[tf_keras.callbacks.Callback] | None = None,
    strategy: tf.distribute.Strategy | None = None,
    verbose: int | str = "auto",
) -> dict[str, Any]:
    """Pretrain (or resume) one run.

    Args:
        config: the run's configuration.
        run_dir: the run folder (created; reused to resume).
        dataset: ``((view1, view2), label)`` batches; default: CIFAR-10 per ``config``.
        callbacks: extra Keras callbacks, run after the run's own.
        strategy: a ``tf.distribute`` strategy (e.g. ``MirroredStrategy`` over GPUs);
            the batch size stays global, NT-Xent negatives and BatchNorm span all
            replicas, so a step matches one device's step on the same batch.
        verbose: Keras ``fit`` verbosity.

    Returns:
        ``{"steps", "seconds", "checkpoints", "run_dir"}``.
    """
    prepare_run_dir(config, run_dir)
    state = _read_state(run_dir)
    if state.get("done"):
        return {**state, "checkpoints": list_checkpoints(run_dir), "run_dir": run_dir}

    tf_keras.utils.set_random_seed(config.train.seed)
    dataset = training_data(config) if dataset is None else dataset
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_simclr(config.model, temperature=config.train.temperature,
                             synchronized_bn=strategy.num_replicas_in_sync > 1)
        model.compile(
            optimizer=tf_keras.optimizers.Adam(
                learning_rate=config.train.learning_rate, weight_decay=config.train.weight_decay
            )
        )
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
    every = config.train.save_every
    run_callbacks: list[tf_keras.callbacks.Callback] = [
        # First, so the other callbacks see the restored step in on_train_begin.
        tf_keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup"), save_freq=every),
        StepCheckpoint(
            os.path.join(run_dir, CHECKPOINT_DIR, "step-{step:05d}"),
            save_weights_only=True,
            save_freq=every,
        ),
        BatchLogger(os.path.join(run_dir, "metrics.csv"), writer),
    ]
    layer = quantum_layer(model.encoder)
    if layer is not None and config.train.hs_metrics:
        (view1, view2), _ = next(iter(dataset))
        n = config.train.hs_batch
        run_callbacks.append(
            HilbertSchmidtLogger(
                angle_model(model.encoder), layer, (view1[:n], view2[:n]), every,
                os.path.join(run_dir, "hilbert_schmidt.csv"), writer,
            )
        )
    start = time.perf_counter()
    model.fit(
        dataset, epochs=1, steps_per_epoch=config.train.steps,
        callbacks=run_callbacks + list(callbacks or []), verbose=verbose,
    )
    steps = int(model.optimizer.iterations.numpy())
    if steps % every:
        model.save_weights(checkpoint_path(run_dir, steps))
    writer.flush()
    state = {"done": steps >= config.train.steps, "steps": steps,
             "seconds": round(time.perf_counter() - start, 2)}
    _write_state(run_dir, state)
    return {**state, "checkpoints": list_checkpoints(run_dir), "run_dir": run_dir}


def resolve_config(preset: str | None, config_path: str | None, data_dir: str | None,
                   overrides: list[str]) -> RunConfig:
    """The run config from a preset or a saved ``config.json``, plus overrides."""
    if (preset is None) == (config_path is None):
        raise ValueError("give exactly one of --preset NAME or --config PATH.")
    config = get_preset(preset) if preset else config_lib.load_json(config_path)
    if data_dir is not None:
        overrides = [f"data.data_dir={json.dumps(data_dir)}", *overrides]
    return config_lib.override(config, overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="named config (see train/presets.py)")
    parser.add_argument("--config", help="a saved config.json to rerun")
    parser.add_argument("--out", required=True, help="run folder (rerun to resume)")
    parser.add_argument("--data-dir", help="TFDS data directory (default: $TFDS_DATA_DIR or TFDS' own)")
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="default",
                        help="mirrored: tf.distribute.MirroredStrategy over all visible GPUs")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="Keras progress: 1 bar, 2 one line per epoch (for logs), 0 none")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override a config value (repeatable)")
    args = parser.parse_args(argv)
    try:
        config = resolve_config(args.preset, args.config, args.data_dir, args.overrides)
    except ValueError as err:
        parser.error(str(err))
    strategy = tf.distribute.MirroredStrategy() if args.strategy == "mirrored" else None
    result = pretrain(config, args.out, strategy=strategy, verbose=args.verbose)
    print(json.dumps(result, indent=2))
    print(f"run folder: {os.path.abspath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
