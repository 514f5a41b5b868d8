"""⟨Z_k⟩ readout of converted circuits, exactly or through the Runtime Sampler.

Paper: Jaderberg et al. (2021/22), Sec. 4.4: the representation is the vector of
single-qubit ⟨Z_k⟩ (k = 0 .. W-1), estimated on hardware from 100 shots per image.

Hardware and fake backends go through ``qiskit_ibm_runtime.executor_sampler.Sampler``,
the client-side Sampler that qiskit-ibm-runtime 0.50+ recommends in place of the
deprecated ``SamplerV2``; a fake backend runs locally on qiskit-aer with its noise
model (local testing mode). All circuits of one call form one job, one PUB each.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime import Batch
from qiskit_ibm_runtime.executor_sampler import Sampler
from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

from convert.backends import Backend, is_statevector
from convert.compile import transpile_for
from tfq_ssl.checks import check_positive_int

MEASURE_REGISTER = "meas"


def logical_width(circuit: QuantumCircuit) -> int:
    """Number of logical qubits W (before any ancillas a transpiler added)."""
    if circuit.layout is None:
        return circuit.num_qubits
    return len(circuit.layout.final_index_layout(filter_ancillas=True))


def exact_expectation_z(circuit: QuantumCircuit) -> np.ndarray:
    """Exact ⟨Z_k⟩ of an untranspiled circuit, in Qiskit qubit order.

    Args:
        circuit: a measurement-free circuit on W logical qubits (no layout).

    Returns:
        ⟨Z_k⟩ for k = 0 .. W-1. Shape: ``(W,)``.
    """
    if circuit.layout is not None:
        raise ValueError(
            "exact expectations need the logical (untranspiled) circuit; got one with a "
            f"layout over {circuit.num_qubits} physical qubits."
        )
    probs = Statevector(circuit).probabilities()
    width = circuit.num_qubits
    bits = (np.arange(2**width)[:, None] >> np.arange(width)) & 1  # little-endian
    return (1 - 2 * bits).T.astype(np.float64) @ probs


def measure_logical_qubits(circuit: QuantumCircuit) -> QuantumCircuit:
    """Measure every logical qubit into bit k of a new ``meas`` register.

    On a transpiled circuit logical qubit k sits on physical qubit
    ``layout.final_index_layout()[k]`` (routing may have permuted it), so bit k
    always holds logical qubit k whatever the layout.

    Args:
        circuit: a measurement-free circuit, logical or transpiled.

    Returns:
        A copy with W measurements appended.
    """
    if circuit.num_clbits:
        raise ValueError(
            f"circuit already has {circuit.num_clbits} classical bits; pass it unmeasured."
        )
    physical = (
        list(range(circuit.num_qubits))
        if circuit.layout is None
        else circuit.layout.final_index_layout(filter_ancillas=True)
    )
    measured = circuit.copy()
    register = ClassicalRegister(len(physical), MEASURE_REGISTER)
    measured.add_register(register)
    for k, qubit in enumerate(physical):
        measured.measure(qubit, register[k])
    return measured


FAILED_STATES = ("ERROR", "CANCELLED", "FAILED")


def attach(backend: Backend, job_id: str) -> Any | None:
    """The Runtime job ``job_id`` of ``backend``'s service, if it can still deliver.

    Returns ``None`` for backends without a service (statevector, fake backends in
    local mode: their jobs die with the process) and for failed or cancelled jobs,
    which must be submitted again.
    """
    service = getattr(backend, "service", None)
    if service is None or is_statevector(backend):
        return None
    job = service.job(job_id)
    status = job.status()
    return None if str(getattr(status, "name", status)).upper() in FAILED_STATES else job


@contextlib.contextmanager
def batch_mode(backend: Backend) -> Iterator[Any]:
    """A Runtime ``Batch`` on ``backend`` for the jobs of one evaluation (``None`` when
    there is nothing to batch: the statevector backend, or fake backends, whose local
    testing mode runs jobs one by one anyway)."""
    if is_statevector(backend) or isinstance(backend, FakeBackendV2):
        yield None
        return
    with Batch(backend=backend) as batch:
        yield batch


def expectation_z(
    circuits: Sequence[QuantumCircuit],
    backend: Backend,
    shots: int = 100,
    *,
    optimization_level: int = 3,
    seed: int | None = None,
    mode: Any = None,
    job: Any = None,
    on_submit: Callable[[str], None] | None = None,
) -> np.ndarray:
    """⟨Z_k⟩ on every logical qubit of every circuit, in one job.

    Circuits without a layout are transpiled for the backend first
    (:func:`convert.compile.transpile_for`); circuits with one (already transpiled,
    e.g. recompiled) are sent as they are.

    Args:
        circuits: measurement-free circuits of equal logical width W.
        backend: from :func:`convert.backends.get_backend`. The statevector backend
            gives exact values and ignores ``shots``.
        shots: measurements per circuit.
        optimization_level: preset pass-manager level for untranspiled circuits.
        seed: seeds the transpiler and, on fake backends, the simulator.
        mode: a Runtime ``Batch`` or ``Session`` to submit in (default: job mode on
            ``backend``).
        job: a job of these circuits submitted earlier (see :func:`attach`): its
            result is read instead of submitting again.
        on_submit: called with the job id as soon as the job is submitted, before
            waiting for it (to persist it: on hardware a resubmission costs queue time).

    Returns:
        ⟨Z_k⟩ per circuit. Shape: ``(len(circuits), W)``.
    """
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must hold at least one circuit.")
    widths = {logical_width(c) for c in circuits}
    if len(widths) != 1:
        raise ValueError(
            f"all circuits must have the same logical width, got widths {sorted(widths)}."
        )
    if is_statevector(backend):
        return np.stack([exact_expectation_z(c) for c in circuits])
    check_positive_int("shots", shots)
    isa = [
        c if c.layout is not None else transpile_for(c, backend, optimization_level, seed=seed)
        for c in circuits
    ]
    if job is None:
        sampler = Sampler(mode=mode or backend)
        if isinstance(backend, FakeBackendV2) and seed is not None:
            sampler.options.simulator.seed_simulator = seed
        job = sampler.run([measure_logical_qubits(c) for c in isa], shots=shots)
        if on_submit is not None:
            on_submit(job.job_id())
    result = job.result()
    out = np.empty((len(circuits), widths.pop()))
    for i, pub in enumerate(result):
        bits = getattr(pub.data, MEASURE_REGISTER).to_bool_array(order="little")  # (shots, W)
        out[i] = 1.0 - 2.0 * bits.mean(axis=0)
    return out
