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
import dataclasses
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime import Batch
from qiskit_ibm_runtime.executor_sampler import Sampler
from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

from convert.backends import Backend, is_statevector, local_simulator
from convert.transpile import transpile_for
from tfq_ssl.checks import check_one_of, check_positive_int
from tfq_ssl.errors import ConfigError

MEASURE_REGISTER = "meas"
DD_SEQUENCES = ("none", "XX", "XpXm", "XY4")  # the Runtime Sampler's sequence types


@dataclasses.dataclass(frozen=True)
class ErrorOptions:
    """Error suppression and mitigation of a device run.

    Attributes:
        dd: dynamical decoupling on idle qubits: ``"none"`` or one of the Runtime
            Sampler's sequences (``"XX"``, ``"XpXm"``, ``"XY4"``).
        twirling: Pauli twirling of the two-qubit gates and of the measurements (the
            Sampler's defaults: randomizations and shots per randomization "auto",
            so a job may return a few more shots than asked).
        readout_mitigation: correct ⟨Z_k⟩ for readout errors with mthree (M3):
            calibrations of the measured qubits on the same backend, then each
            circuit's counts mapped to corrected quasi-probabilities.

    The qiskit-ibm-runtime Sampler applies DD and twirling on the client, so a fake
    backend's local simulation runs them too.
    """

    dd: str = "none"
    twirling: bool = False
    readout_mitigation: bool = False

    def __post_init__(self) -> None:
        check_one_of("dd", self.dd, DD_SEQUENCES)

    @property
    def any(self) -> bool:
        return self.dd != "none" or self.twirling or self.readout_mitigation

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    errors: ErrorOptions = ErrorOptions(),
) -> np.ndarray:
    """⟨Z_k⟩ on every logical qubit of every circuit, in one job.

    Circuits without a layout are transpiled for the backend first
    (:func:`convert.transpile.transpile_for`); circuits with one (already transpiled,
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
        errors: error suppression (set on the Sampler) and readout mitigation.

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
        if errors.any:
            raise ConfigError("the statevector backend is exact: error suppression and "
                              "mitigation need a device or a fake backend.")
        return np.stack([exact_expectation_z(c) for c in circuits])
    check_positive_int("shots", shots)
    isa = [
        c if c.layout is not None else transpile_for(c, backend, optimization_level, seed=seed)
        for c in circuits
    ]
    if job is None:
        if mode is None and isinstance(backend, FakeBackendV2):
            mode = local_simulator(backend, used_qubits(isa))
        sampler = Sampler(mode=mode or backend)
        if isinstance(backend, FakeBackendV2) and seed is not None:
            sampler.options.simulator.seed_simulator = seed
        if errors.dd != "none":
            sampler.options.dynamical_decoupling.enable = True
            sampler.options.dynamical_decoupling.sequence_type = errors.dd
        if errors.twirling:
            sampler.options.twirling.enable_gates = True
            sampler.options.twirling.enable_measure = True
        job = sampler.run([measure_logical_qubits(c) for c in isa], shots=shots)
        if on_submit is not None:
            on_submit(job.job_id())
    result = job.result()
    width = widths.pop()
    if errors.readout_mitigation:
        counts = [getattr(pub.data, MEASURE_REGISTER).get_counts() for pub in result]
        return mitigated_expectation_z(counts, [physical_qubits(c) for c in isa], backend,
                                       shots, width, seed)
    out = np.empty((len(circuits), width))
    for i, pub in enumerate(result):
        bits = getattr(pub.data, MEASURE_REGISTER).to_bool_array(order="little")  # (shots, W)
        out[i] = 1.0 - 2.0 * bits.mean(axis=0)
    return out


def used_qubits(circuits: Sequence[QuantumCircuit]) -> set[int]:
    """The qubits any gate or measurement of ``circuits`` acts on (barriers aside)."""
    found: set[int] = set()
    for circuit in circuits:
        for instruction in circuit.data:
            if instruction.operation.name != "barrier":
                found.update(circuit.find_bit(q).index for q in instruction.qubits)
    return found


def physical_qubits(circuit: QuantumCircuit) -> list[int]:
    """The physical qubit that logical qubit k ends on (what bit k of ``meas`` reads)."""
    if circuit.layout is None:
        return list(range(circuit.num_qubits))
    return list(circuit.layout.final_index_layout(filter_ancillas=True))


# Readout calibrations of each backend object, by (shots, seed): (mitigator, calibrated
# physical qubits). An evaluation calibrates once, not once per job (900 images are 36).
_CALIBRATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def readout_mitigator(backend: Backend, qubits: Iterable[int], shots: int,
                      seed: int | None = None) -> Any:
    """An mthree (M3) mitigator with calibrations of ``qubits`` on ``backend``.

    Calibrated once per backend object, shots and seed: a later call for qubits already
    calibrated reuses it, one for others calibrates them all again (M3 keeps one calibration per
    qubit). A fake backend's calibration circuits run on its local simulation
    (:func:`convert.backends.local_simulator`), seeded with ``seed``; a device's run
    there as one calibration job.
    """
    import mthree  # noqa: PLC0415 - only readout mitigation needs it

    wanted = frozenset(qubits)
    shots = max(shots, 1000)
    known = _CALIBRATIONS.setdefault(backend, {})
    cached = known.get((shots, seed))
    if cached is not None and wanted <= cached[1]:
        return cached[0]
    if cached is not None:
        wanted |= cached[1]
    system = backend
    if isinstance(backend, FakeBackendV2):
        system = local_simulator(backend, wanted)
        if seed is not None:
            system.set_options(seed_simulator=seed)
    mitigator = mthree.M3Mitigation(system)
    mitigator.cals_from_system(sorted(wanted), shots=shots)
    known[(shots, seed)] = (mitigator, wanted)
    return mitigator


def mitigated_expectation_z(counts: Sequence[dict[str, int]], qubits: Sequence[list[int]],
                            backend: Backend, shots: int, width: int,
                            seed: int | None = None) -> np.ndarray:
    """⟨Z_k⟩ from counts corrected for readout errors by mthree (M3).

    M3 calibrates each measured physical qubit on ``backend`` (its balanced
    calibration circuits; :func:`readout_mitigator`) and solves, per circuit, for the
    quasi-probabilities that the measured counts came from; ⟨Z_k⟩ is their marginal on
    bit k. Quasi-probabilities may be slightly negative, so a value may leave [-1, 1]
    by a little; it is clipped.

    Args:
        counts: per circuit, the ``meas`` register's counts (bit k = logical qubit k).
        qubits: per circuit, the physical qubit of each bit (:func:`physical_qubits`).
        backend: the backend the counts came from.
        shots: calibration shots per circuit (at least 1000).
        width: W.
        seed: seeds a fake backend's calibration run.
    """
    mitigator = readout_mitigator(backend, {q for qs in qubits for q in qs}, shots, seed)
    out = np.empty((len(counts), width))
    for i, (c, qs) in enumerate(zip(counts, qubits)):
        quasi = mitigator.apply_correction(c, list(qs))
        z = np.zeros(width)
        for bitstring, p in quasi.items():
            bits = np.array([int(b) for b in bitstring[::-1]])  # bit k = string[-1 - k]
            z += p * (1 - 2 * bits)
        out[i] = np.clip(z, -1.0, 1.0)
    return out
