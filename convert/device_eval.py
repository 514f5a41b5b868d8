"""Array-level device evaluation of the representation network, with resume.

Paper: Jaderberg et al. (2021/22), Sec. 4.4: the trained representation network is
run image by image on hardware (each image's circuit recompiled), and the ⟨Z_k⟩
vectors feed the trained linear probe. Hardware time is precious and jobs fail, so
every image's result is appended to a JSONL file the moment its job returns, and a
rerun skips what is already there.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext

import numpy as np
from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

from convert import execute
from convert.backends import Backend, is_statevector
from convert.transpile import compile_for_device
from convert.qiskit_circuits import representation_qiskit_circuit
from tfq_ssl.checks import check_positive_int
from tfq_ssl.errors import RunFolderError
from tfq_ssl.files import append_jsonl, read_jsonl

log = logging.getLogger(__name__)


# Angles come from a network's forward pass, which may differ in the last float32 bits
# between runs; anything beyond this is a different input.
ANGLE_TOLERANCE = 1e-5


def _fingerprint(weights: np.ndarray) -> str:
    """Hash of the ansatz weights, so a resumed file cannot mix different models."""
    return hashlib.sha256(np.ascontiguousarray(weights, np.float64).tobytes()).hexdigest()[:16]


def read_results(path: str, key: str = "index") -> dict:
    """Records of a JSON-lines file by ``key`` (the image index); a torn last line is
    dropped (:func:`tfq_ssl.files.read_jsonl`)."""
    return {int(r["index"]) if key == "index" else r[key]: r for r in read_jsonl(path)}


def run_representation_on_backend(
    angles: np.ndarray,
    weights: np.ndarray,
    width: int,
    layers: int,
    ansatz: str,
    backend: Backend,
    shots: int,
    recompile: bool,
    results_path: str,
    *,
    batch_size: int = 25,
    optimization_level: int = 3,
    seed: int | None = None,
    target_overlap: float = 0.99,
    errors: execute.ErrorOptions = execute.ErrorOptions(),
    symbolic: tuple | None = None,
    workers: int = 1,
) -> np.ndarray:
    """⟨Z_k⟩ of the representation circuit for many images, resumable.

    Each image's circuit is resolved, converted, compiled (level-3 transpilation,
    or recompilation when it is shallower and reaches ``target_overlap``) and run in
    batches of ``batch_size`` images per job. Every result — ⟨Z⟩ vector, gate
    statistics, overlap — is appended to ``results_path`` (JSON lines) as soon as
    its batch returns; images already in the file are read back, not run again.

    Args:
        angles: input angles, one row per image. Shape: ``(n, W)``.
        weights: trained ansatz weights. Shape: ``(n_weights,)``.
        width: number of qubits W.
        layers: ansatz layers L.
        ansatz: ``"ring"``, ``"ring_product"`` or ``"all_to_all"``.
        backend: from :func:`convert.backends.get_backend`.
        shots: shots per image (ignored by the statevector backend).
        recompile: whether to try per-image recompilation.
        results_path: JSONL file to append to and resume from.
        batch_size: images per job.
        optimization_level: preset level of the reference transpilation.
        seed: transpiler, recompilation and (fake backends) simulator seed.
        target_overlap: overlap a recompiled circuit must reach to be used.
        errors: error suppression and readout mitigation (recorded with every result
            and job, so a resumed file cannot mix settings).
        symbolic: the model's own circuit and symbols (``QuantumRepresentation.symbolic``),
            bound image by image; default: rebuilt from ``width``, ``layers``, ``ansatz``.
        workers: processes that compile a batch's circuits side by side (recompiling
            an untrained, entangled circuit takes seconds). Compilation is seeded, so the
            circuits and results are the same for any count. A real IBM backend always compiles in this
            process: its service (and credentials) is not sent to other processes.

    Returns:
        ⟨Z_k⟩ per image, in input order. Shape: ``(n, W)``.

    Raises:
        ValueError: bad shapes.
        RunFolderError: ``results_path`` holds results of other inputs or settings for
            the same image indices, or of more images. CorruptFileError: a line of it
            other than the last is garbled.
    """
    angles = np.asarray(angles, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if angles.ndim != 2 or angles.shape[1] != width:
        raise ValueError(f"angles must have shape (n, {width}), got {angles.shape}.")
    check_positive_int("batch_size", batch_size)
    check_positive_int("workers", workers)
    settings = {
        "backend": backend.name,
        "shots": None if is_statevector(backend) else shots,
        "recompile": bool(recompile),
        "width": width,
        "layers": layers,
        "ansatz": ansatz,
        "weights_fingerprint": _fingerprint(weights),
        # None without any (what results written before these options hold, too)
        "errors": errors.to_dict() if errors.any else None,
    }
    done = read_results(results_path)
    for i, record in done.items():
        if i >= len(angles):
            raise RunFolderError(
                f"{results_path} has image {i}, but only {len(angles)} images were given."
            )
        mismatch = {k: (record.get(k), v) for k, v in settings.items() if record.get(k) != v}
        stored = np.asarray(record.get("angles", np.nan), dtype=np.float64)
        same = stored.shape == angles[i].shape and np.allclose(
            stored, angles[i], rtol=0, atol=ANGLE_TOLERANCE
        )
        if not same:
            mismatch["angles"] = (record.get("angles"), angles[i].tolist())
        if mismatch:
            raise RunFolderError(
                f"{results_path} holds image {i} from a different run {mismatch} (stored, now); "
                "use a new results_path or delete the file."
            )
    todo = [i for i in range(len(angles)) if i not in done]
    jobs_path = jobs_path_for(results_path)
    submitted = read_jobs(jobs_path, settings)
    compile_options = dict(recompile_circuit=recompile, optimization_level=optimization_level,
                           seed=seed, target_overlap=target_overlap)
    with execute.batch_mode(backend) as mode, _compile_pool(backend, workers, todo) as pool:
        _run_batches(todo, angles, weights, width, layers, ansatz, backend, shots,
                     results_path, jobs_path, submitted, settings, done, mode, batch_size,
                     optimization_level, seed, errors, symbolic, compile_options, pool)
    values = [done[i]["expectation_z"] for i in range(len(angles))]
    return np.array(values, dtype=np.float64).reshape(-1, width)


def jobs_path_for(results_path: str) -> str:
    """Where the Runtime job ids of ``results_path``'s batches are kept."""
    return os.path.splitext(results_path)[0] + ".jobs.jsonl"


def read_jobs(path: str, settings: dict) -> dict[tuple[int, ...], str]:
    """Job ids of submitted batches with these settings, by the batch's image indices."""
    jobs = {}
    for record in read_results(path, key="job_id").values():
        if all(record.get(k) == v for k, v in settings.items()):
            jobs[tuple(record["images"])] = record["job_id"]
    return jobs


def _compile_pool(backend: Backend, workers: int, todo: list[int]):
    """A process pool for compilation, or a null context where one process compiles."""
    if workers == 1 or len(todo) < 2 or not (is_statevector(backend)
                                            or isinstance(backend, FakeBackendV2)):
        return nullcontext(None)
    # spawn, not fork: the caller may hold TensorFlow's threads, which fork would copy.
    return ProcessPoolExecutor(min(workers, len(todo)), multiprocessing.get_context("spawn"))


def _compile_one(logical, backend: Backend, options: dict):
    return compile_for_device(logical, backend, **options)


def _run_batches(todo, angles, weights, width, layers, ansatz, backend, shots,
                 results_path, jobs_path, submitted, settings, done, mode, batch_size,
                 optimization_level, seed, errors, symbolic, compile_options, pool) -> None:
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        logical = [representation_qiskit_circuit(width, layers, ansatz, angles[i], weights,
                                                 symbolic) for i in batch]
        if pool is None:
            compiled = [_compile_one(c, backend, compile_options) for c in logical]
        else:
            compiled = list(pool.map(_compile_one, logical, [backend] * len(batch),
                                     [compile_options] * len(batch)))
        circuits = [circuit for circuit, _ in compiled]
        reports = [report for _, report in compiled]
        previous = submitted.get(tuple(batch))
        job = execute.attach(backend, previous) if previous else None
        if job is not None:
            log.info("re-attaching to job %s for images %d-%d", previous, batch[0], batch[-1])

        def persist(job_id: str, batch: list[int] = batch) -> None:
            append_jsonl(jobs_path, iter([{"job_id": job_id, "images": batch, **settings}]))

        values = execute.expectation_z(
            circuits, backend, shots, optimization_level=optimization_level, seed=seed,
            mode=mode, job=job, on_submit=persist, errors=errors,
        )
        records = [
            {"index": i, **settings, "angles": angles[i].tolist(),
             "expectation_z": z.tolist(), **r.to_dict()}  # fmt: skip
            for i, z, r in zip(batch, values, reports)
        ]
        append_jsonl(results_path, iter(records))
        done.update({r["index"]: r for r in records})
