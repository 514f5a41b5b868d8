"""Keras callbacks of a pretraining run: per-batch logs and Hilbert–Schmidt metrics.

Checkpointing and resumption use Keras' own ``ModelCheckpoint`` and
``BackupAndRestore``; Keras has no per-batch CSV logger, so ``BatchLogger`` is ours.
Both loggers key rows by the global step (the optimizer's iteration count), so a
resumed run drops rows written after its last backup and carries on seamlessly.
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any, Sequence

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tensorflow as tf
import tf_keras

from tfq_ssl.quantum.layer import QuantumRepresentation
from tfq_ssl.metrics import hilbert_schmidt_metrics


class _StepCSV:
    """A CSV file of rows keyed by ``step`` that is safe to append to across resumes."""

    def __init__(self, path: str, fields: Sequence[str]) -> None:
        self.path = path
        self.fields = ["step", *fields]

    def truncate_after(self, step: int) -> None:
        """Drop rows past ``step`` (they belong to batches a resume will redo)."""
        if not os.path.exists(self.path):
            return
        with open(self.path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, self.fields)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def append(self, row: dict[str, Any]) -> None:
        new = not os.path.exists(self.path)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


class StepCheckpoint(tf_keras.callbacks.ModelCheckpoint):
    """Keras' ``ModelCheckpoint`` keyed by the global step rather than the batch index.

    After a ``BackupAndRestore`` resume Keras restarts its own batch counting, so the
    stock callback would save at the wrong steps and name files by the wrong
    number. Here a checkpoint is saved whenever the optimizer's iteration count is
    a multiple of ``save_freq``, and ``{step}`` in ``filepath`` is that count.
    """

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def _should_save_on_batch(self, batch: int) -> bool:
        return self.save_freq != "epoch" and self._step() % self.save_freq == 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # Keras formats ``filepath`` with the logs: give it the global step.
        super().on_train_batch_end(batch, {**(logs or {}), "step": self._step()})


class BatchLogger(tf_keras.callbacks.Callback):
    """Writes every batch's loss and contrastive accuracy to CSV and TensorBoard.

    Args:
        csv_path: the run's ``metrics.csv``.
        writer: a ``tf.summary`` writer for TensorBoard scalars.
    """

    FIELDS = ("loss", "contrastive_accuracy", "running_loss", "seconds")

    def __init__(self, csv_path: str, writer: tf.summary.SummaryWriter) -> None:
        super().__init__()
        self._csv = _StepCSV(csv_path, self.FIELDS)
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
    ) -> None:
        super().__init__()
        self._angle_model = angle_model
        self._layer = layer
        self._views = views
        self._every = every
        self._csv = _StepCSV(csv_path, self.FIELDS)
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
        self._csv.truncate_after(step)
        if step == 0:
            self._log(0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if step % self._every == 0 or step == self.params.get("steps"):
            self._log(step)
