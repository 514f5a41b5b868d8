"""SimCLR pretraining of one run folder, resumable after any kill.

Paper: Jaderberg et al. (2021/22), Appendix A: Adam, batch 256, τ = 0.07; the 5-class
runs last 176 batches and are probed every 13. The run folder's layout and the order
of its writes belong to :mod:`tfq_ssl.rundir`: a rerun resumes from the newest
checkpoint that loads (a corrupt one is moved aside and redone), continues the same
image stream where that checkpoint left it, and ends with exactly one log row per
step; rerunning a finished run does nothing.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from models.simclr import angle_model, build_simclr, quantum_layer
from tfq_ssl import config as config_lib
from tfq_ssl import rundir
from tfq_ssl import files
from tfq_ssl.augment import make_augment
from tfq_ssl.callbacks import BatchLogger, HilbertSchmidtLogger, StepCheckpoint
from tfq_ssl.config import RunConfig
from tfq_ssl.data import check_available, load_cifar10, pretraining_dataset

log = logging.getLogger(__name__)


def training_data(config: RunConfig, skip_batches: int = 0) -> tf.data.Dataset:
    """The run's stream of ``((view1, view2), label)`` batches from CIFAR-10.

    Args:
        config: the run's configuration.
        skip_batches: start after this many batches (a resume), without augmenting them.
    """
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
        seed=config.train.stream_seed,
        shuffle_buffer=config.data.shuffle_buffer,
        skip_batches=skip_batches,
    )


class _SlowSavePointsExpected(logging.Filter):
    """Drops Keras' "Callback method ... is slow compared to the batch time" warning.

    Keras times the batch hooks of the first five steps against the steps themselves;
    ours write a checkpoint and the Hilbert–Schmidt metrics at save points, which takes
    longer than a step by design (a resume near a save point, or a short save_every,
    put one among those five), so the warning said nothing the run could act on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "is slow compared to the batch time" not in record.getMessage()


def _result(run_dir: str, state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "checkpoints": rundir.list_checkpoints(run_dir), "run_dir": run_dir}


def _finished(run_dir: str, steps: int) -> dict[str, Any]:
    """The result of a run found finished; its record is rewritten only if it is off.

    A finished run keeps the resume state of its last step (a lost final checkpoint
    is rewritten from it); older ones are removed, after the record is written.
    """
    state = rundir.read_state(run_dir)
    if not (state.get("done") and state.get("steps") == steps and "seconds" in state):
        # A lost record's training time is the sum of the logged step times.
        seconds = state.get("seconds", rundir.logged_seconds(run_dir))
        state = {**state, "done": True, "steps": steps, "seconds": seconds}
        rundir.write_state(run_dir, state)
    rundir.drop_resume_states(run_dir, keep=steps)
    return _result(run_dir, state)


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
        config: the run's configuration (validated before anything is written).
        run_dir: the run folder (created; reused to resume); locked while training.
        dataset: ``((view1, view2), label)`` batches from the run's first step;
            default: CIFAR-10 per ``config``. A resume skips the batches already done.
        callbacks: extra Keras callbacks, run after the run's own.
        strategy: a ``tf.distribute`` strategy (e.g. ``MirroredStrategy`` over GPUs);
            the batch size stays global, NT-Xent negatives and BatchNorm span all
            replicas, so a step matches one device's step on the same batch.
        verbose: Keras ``fit`` verbosity.

    Returns:
        ``{"done", "steps", "seconds", "checkpoints", "run_dir"}``.

    Raises:
        ConfigError: an invalid config. RunFolderError: the folder holds another
        run, or another process is training into it.
    """
    config_lib.check_run(config)
    total = config.train.steps
    if dataset is None:  # before anything is written: a bad data location leaves no folder
        check_available(data_dir=config.data.data_dir, download=config.data.download)
    with files.locked(run_dir):
        rundir.prepare(config, run_dir)
        state = rundir.read_state(run_dir)
        if state.get("done") and state.get("checkpoints_dropped"):
            log.info("%s finished; its checkpoints %s were dropped after probing.", run_dir,
                     state["checkpoints_dropped"])
            return _result(run_dir, state)
        point = rundir.resume_point(run_dir, total)
        damage = rundir.log_damage(run_dir)
        if point.step >= total and point.state is None:
            if damage is not None:
                log.warning(
                    "%s. The run is finished and its checkpoints and probe results are "
                    "intact, but its log rows after step %d are lost; retraining with "
                    "its config.json into a new folder recomputes them.",
                    damage.describe(), damage.last_good_step)
            return _finished(run_dir, point.step)
        if damage is not None and damage.last_good_step < point.step:
            point = rundir.resume_point(run_dir, total, at_most=max(damage.last_good_step, 0))
            log.warning("%s; the run resumes from step %d, before it, and recomputes the "
                        "steps and rows after.", damage.describe(), point.step)
        start = point.step
        if start:
            log.info("resuming %s from step %d of %d", run_dir, start, total)

        # tf.data's seeds pair the op seed with the global one, so the data pipeline is
        # built under the stream seed and the model under the run's seed: each source
        # of randomness follows its own seed (the same one unless train.data_seed is set).
        tf_keras.utils.set_random_seed(config.train.stream_seed)
        # The Hilbert–Schmidt views come from the run's first batch, resumed or not. A
        # pipeline of its own: a second pass over the training pipeline would reshuffle
        # it, so the run would see other batches than a run without these metrics. Only
        # a quantum run logs them; other runs skip building it (every seed is explicit,
        # so the training pipeline is the same either way).
        hs_metrics = config.model.representation == "quantum" and config.train.hs_metrics
        if dataset is None:
            first = training_data(config) if hs_metrics else None
            dataset = training_data(config, skip_batches=start)
        else:
            first, dataset = dataset, dataset.skip(start)
        tf_keras.utils.set_random_seed(config.train.seed)
        strategy = strategy or tf.distribute.get_strategy()
        with strategy.scope():
            model = build_simclr(config.model, temperature=config.train.temperature,
                                 synchronized_bn=strategy.num_replicas_in_sync > 1)
            model.compile(optimizer=tf_keras.optimizers.Adam(
                learning_rate=config.train.learning_rate, weight_decay=config.train.weight_decay))
            # Create the Adam moments before fit: a checkpoint then restores them at
            # once, and fit's train function is traced once (moments created inside
            # its first call make TF trace it a second time, without variable creation).
            model.optimizer.build(model.trainable_variables)
            if start:
                model.load_weights(point.state)
        # Step checkpoints hold the weights only: they are saved from this uncompiled
        # copy (save_weights of the compiled model would add the Adam moments, 2× more).
        saver = StepCheckpoint(run_dir, config.train.save_every, total,
                               build_simclr(config.model, temperature=config.train.temperature,
                                            synchronized_bn=strategy.num_replicas_in_sync > 1))
        if start and start not in rundir.list_checkpoints(run_dir):
            saver.set_model(model)
            saver.save_weights(start)  # killed between the resume state and this checkpoint
        if start >= total:
            return _finished(run_dir, start)
        writer = tf.summary.create_file_writer(os.path.join(run_dir, rundir.TENSORBOARD_DIR))
        every = config.train.save_every
        # Order matters: a step's log rows are written before its checkpoint.
        run_callbacks: list[tf_keras.callbacks.Callback] = [
            BatchLogger(os.path.join(run_dir, rundir.METRICS_FILE), writer)]
        layer = quantum_layer(model.encoder)
        if hs_metrics:
            assert layer is not None and first is not None
            (view1, view2), _ = next(iter(first))
            n = config.train.hs_batch
            run_callbacks.append(HilbertSchmidtLogger(
                angle_model(model.encoder), layer, (view1[:n], view2[:n]), every,
                os.path.join(run_dir, rundir.HS_FILE), writer, total))
        run_callbacks.append(saver)
        began = time.perf_counter()
        quiet = _SlowSavePointsExpected()
        tf.get_logger().addFilter(quiet)
        try:
            model.fit(dataset, epochs=1, steps_per_epoch=total - start,
                      callbacks=run_callbacks + list(callbacks or []), verbose=verbose)
        finally:
            tf.get_logger().removeFilter(quiet)
        writer.flush()
        steps = int(model.optimizer.iterations.numpy())
        if steps < total:  # the stream ran dry
            raise RuntimeError(f"the dataset ended after step {steps} of {total}.")
        previous = rundir.read_state(run_dir).get("seconds", 0.0)
        state = {"done": True, "steps": steps,
                 "seconds": round(previous + time.perf_counter() - began, 2)}
        rundir.write_state(run_dir, state)
        rundir.drop_resume_states(run_dir, keep=steps)
        return _result(run_dir, state)
