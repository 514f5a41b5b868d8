"""Keras callbacks of a pretraining run: per-step logs, Hilbert–Schmidt metrics, checkpoints.

Every callback keys its writes by the global step (the optimizer's iteration count),
so a run resumed from a checkpoint drops the rows written after it and carries on.
Keras' ``BackupAndRestore`` is not used: it wrote its backup before the step's
checkpoint and log rows, so a kill between the two lost them, and it duplicated the
checkpoint's contents. The order of writes is documented in :mod:`tfq_ssl.rundir`.
"""

from __future__ import annotations

import time
from typing import Any

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from tfq_ssl import rundir
from tfq_ssl import files
from tfq_ssl.quantum.layer import QuantumRepresentation
from tfq_ssl.metrics import hilbert_schmidt_metrics


class StepCheckpoint(tf_keras.callbacks.Callback):
    """Saves the run's checkpoints every ``every`` global steps and at the last step.

    Keyed by the optimizer's iteration count (the global step), which survives a
    resume, and written atomically by :mod:`tfq_ssl.rundir`: first the resume state
    (the compiled model: weights and optimiser state), then the weights checkpoint
    (``weights_model``, which holds a copy of the weights and nothing else), then the
    previous resume state is removed. It must come after the loggers in the callback
    list: a step's checkpoint is its last write, so a checkpoint on disk implies every
    log row up to its step.

    Args:
        run_dir: the run folder.
        every: save period in steps.
        total_steps: the run's last step (always saved).
        weights_model: a model of the same architecture, not compiled; it is given the
            trained weights before each save.
    """

    def __init__(self, run_dir: str, every: int, total_steps: int,
                 weights_model: tf_keras.Model) -> None:
        super().__init__()
        self._run_dir = run_dir
        self._every = every
        self._total = total_steps
        self._weights_model = weights_model

    def save_weights(self, step: int) -> None:
        """Write the weights checkpoint of ``step`` from the model's current weights."""
        self._weights_model.set_weights(self.model.get_weights())
        rundir.save_checkpoint(self._weights_model, self._run_dir, step)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if step % self._every == 0 or step == self._total:
            rundir.save_resume_state(self.model, self._run_dir, step)
            self.save_weights(step)
            rundir.drop_resume_states(self._run_dir, keep=step)


class BatchLogger(tf_keras.callbacks.Callback):
    """Writes every batch's loss and contrastive accuracy to CSV and TensorBoard.

    Args:
        csv_path: the run's ``metrics.csv``.
        writer: a ``tf.summary`` writer for TensorBoard scalars.
    """

    FIELDS = ("loss", "contrastive_accuracy", "running_loss", "seconds")

    def __init__(self, csv_path: str, writer: tf.summary.SummaryWriter) -> None:
        super().__init__()
        self._csv = files.StepCSV(csv_path, self.FIELDS, consecutive=True)
        self._writer = writer
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._csv.truncate_after(int(self.model.optimizer.iterations.numpy()))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        step = int(self.model.optimizer.iterations.numpy())
        row = {
            "step": step,
            "loss": float(logs["batch_loss"]),
            "contrastive_accuracy": float(logs["batch_accuracy"]),
            "running_loss": float(logs["loss"]),
            "seconds": round(time.perf_counter() - self._start, 4),
        }
        self._csv.append(row)
        with self._writer.as_default(step=step):
            tf.summary.scalar("train/loss", row["loss"])
            tf.summary.scalar("train/contrastive_accuracy", row["contrastive_accuracy"])
            tf.summary.scalar("train/seconds_per_batch", row["seconds"])


class HilbertSchmidtLogger(tf_keras.callbacks.Callback):
    """Hilbert–Schmidt metrics (paper eqs. 3–4, Fig. 4) on fixed view pairs.

    Logged before training and every ``every`` steps, from exact statevectors of
    the quantum representation network.

    Args:
        angle_model: images → angles (the encoder cut before the circuit).
        layer: the encoder's ``QuantumRepresentation``.
        views: ``(view1, view2)`` image batches of the same N images.
        every: logging period in steps.
        csv_path: the run's ``hilbert_schmidt.csv``.
        writer: a ``tf.summary`` writer.
        total_steps: the run's last step (always logged).
    """

    FIELDS = ("hs_distance", "tr_rho2", "tr_sigma2", "tr_rho_sigma")

    def __init__(
        self,
        angle_model: tf_keras.Model,
        layer: QuantumRepresentation,
        views: tuple[tf.Tensor, tf.Tensor],
        every: int,
        csv_path: str,
        writer: tf.summary.SummaryWriter,
        total_steps: int,
    ) -> None:
        super().__init__()
        self._total = total_steps
        self._angle_model = angle_model
        self._layer = layer
        self._views = views
        self._every = every
        self._csv = files.StepCSV(csv_path, self.FIELDS)
        self._writer = writer

    def compute(self) -> dict[str, float]:
        """The metrics of the current weights."""
        states = [
            self._layer.statevectors(self._angle_model(v, training=False)) for v in self._views
        ]
        return {k: float(v) for k, v in hilbert_schmidt_metrics(*states).items()}

    def _log(self, step: int) -> None:
        row = {"step": step, **self.compute()}
        self._csv.append(row)
        with self._writer.as_default(step=step):
            for key in self.FIELDS:
                tf.summary.scalar(f"hilbert_schmidt/{key}", row[key])

    def on_train_begin(self, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        # A fresh start redoes the row of step 0 too (a kill may have left it).
        self._csv.truncate_after(step if step else -1)
        if step == 0:
            self._log(0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if step % self._every == 0 or step == self._total:
            self._log(step)


class StopWhenInterrupted(tf_keras.callbacks.Callback):
    """Raises ``KeyboardInterrupt`` after a step once ``interrupted`` is set.

    A Ctrl-C that lands while Python runs a garbage-collection callback (TensorFlow
    registers one) is reported as "Exception ignored" and swallowed; the signal
    handler's flag survives it. Put last, so the step's rows and checkpoint come first.

    Args:
        interrupted: set by the process' SIGINT handler (``threading.Event``-like).
    """

    def __init__(self, interrupted: Any) -> None:
        super().__init__()
        self._interrupted = interrupted

    def _check(self) -> None:
        if self._interrupted.is_set():
            raise KeyboardInterrupt

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._check()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check()
