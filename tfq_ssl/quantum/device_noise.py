"""A current IBM device's noise, from a fake backend's calibration, to train under.

``model.noise_from=fake_<device>`` trains and probes the representation circuit under
a noise model built from that snapshot's calibration data, on the physical qubits a
level-3 transpilation of the circuit uses (:func:`from_fake_backend`):

* after every one-qubit gate on logical qubit k: a depolarising channel whose average
  gate infidelity is that of two ``sx`` on k's physical qubit (a general rotation is
  rz·sx·rz·sx·rz);
* after every two-qubit gate (c, t): a depolarising channel on c and on t that
  together have the infidelity of the two CZ/CX/ECR gates a controlled rotation
  compiles to, plus three for every SWAP routing needs when c and t are not coupled
  (the gate errors along the shortest path);
* readout: each qubit's own confusion ``P(1|0)``, ``P(0|1)``, so that
  ``⟨Z⟩_read = (1 − e0 − e1)·⟨Z⟩ + (e1 − e0)``, exactly.

Idle errors (T1/T2 during other qubits' gates) and crosstalk are left out.

The channels are simulated by **Pauli trajectories** (:func:`pauli_frame`): every
depolarising site becomes ``rz(β)·rx(α)`` with per-row angles α, β ∈ {0, π} drawn from
the channel's distribution (I with 1 − p; X, Y, Z with p/3 each), so any exact engine
with per-row input angles runs it, and its mean over trajectories is the channel's
expectation (tested against Cirq's density-matrix simulator). TFQ's own noisy backend
(:func:`channel_circuit` on ``tfq.noise.expectation``) computes the same numbers but
differentiates only by parameter shift: a batch of 64 took ~85 s there against
~0.1 s as trajectories on the statevector engine (bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from tfq_ssl.errors import ConfigError

if TYPE_CHECKING:  # configs check noise_from without loading Cirq
    import cirq
    import sympy

__all__ = ["DeviceNoise", "channel_circuit", "check_noise_from", "fake_backend_classes",
           "from_fake_backend", "pauli_frame"]

# Depolarising probability p of one qubit → average gate infidelity r = 2p/3.
_ONE_QUBIT = 1.5
# Two independent one-qubit depolarisations of p each have, to first order, the
# infidelity r = (4/5)·2p of a two-qubit gate: p = 5r/8.
_TWO_QUBIT_EACH = 5.0 / 8.0
_CZ_PER_CONTROLLED_ROTATION = 2
_CZ_PER_SWAP = 3


@lru_cache(maxsize=1)
def fake_backend_classes() -> dict[str, type]:
    """``{"fake_paris": FakeParisV2, ...}`` for every V2 fake backend Qiskit ships."""
    from qiskit_ibm_runtime import fake_provider  # noqa: PLC0415 - heavy, only when asked
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2  # noqa: PLC0415

    found = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if isinstance(cls, type) and issubclass(cls, FakeBackendV2) and cls is not FakeBackendV2:
            found["fake_" + attr.removeprefix("Fake").removesuffix("V2").lower()] = cls
    return dict(sorted(found.items()))


def check_noise_from(name: Any, prefix: str = "") -> None:
    """Refuse a ``noise_from`` that is not the name of a fake backend Qiskit ships."""
    if not isinstance(name, str) or name.strip().lower() not in fake_backend_classes():
        raise ConfigError(
            f"{prefix}noise_from must name a fake backend (its calibration is the noise "
            f"model), one of {', '.join(fake_backend_classes())}; got {name!r}.")


@dataclass(frozen=True)
class DeviceNoise:
    """Per-logical-qubit noise of the representation circuit on one device.

    Attributes:
        backend: the fake backend's name, e.g. ``"fake_fez"``.
        layout: the physical qubit of each logical qubit.
        gate: depolarising probability after a one-qubit gate, per logical qubit.
        pair: ``((control, target), p)``: depolarising probability on each of the two
            qubits after a two-qubit gate between them.
        readout: ``(P(1|0), P(0|1))`` per logical qubit.
    """

    backend: str
    layout: tuple[int, ...]
    gate: tuple[float, ...]
    pair: tuple[tuple[tuple[int, int], float], ...]
    readout: tuple[tuple[float, float], ...]

    def pair_probability(self, a: int, b: int) -> float:
        for (c, t), p in self.pair:
            if {c, t} == {a, b}:
                return p
        raise ValueError(f"no two-qubit noise for logical qubits ({a}, {b}) in {self.backend}.")

    def readout_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, offset)``: measured ⟨Z_k⟩ = scale_k·⟨Z_k⟩ + offset_k."""
        e0 = np.array([r[0] for r in self.readout])
        e1 = np.array([r[1] for r in self.readout])
        return 1.0 - e0 - e1, e1 - e0


def _two_qubit_gate(target) -> str:
    for name in ("cz", "ecr", "cx"):
        if name in target.operation_names:
            return name
    raise ConfigError("the backend has none of the two-qubit gates cz, ecr, cx.")


@lru_cache(maxsize=16)
def _from_fake_backend(name: str, width: int, pattern: tuple, seed: int) -> DeviceNoise:
    import networkx as nx  # noqa: PLC0415 - Qiskit's own dependency
    from qiskit import QuantumCircuit, transpile  # noqa: PLC0415

    backend = fake_backend_classes()[name]()
    qc = QuantumCircuit(width)
    for ids in pattern:
        (qc.ry(0.3, ids[0]) if len(ids) == 1 else qc.crx(0.3, ids[0], ids[1]))
    qc.measure_all()
    compiled = transpile(qc, backend, optimization_level=3, seed_transpiler=seed)
    layout = tuple(int(q) for q in compiled.layout.initial_index_layout(filter_ancillas=True))
    target = backend.target
    two = _two_qubit_gate(target)
    graph = nx.Graph()
    for edge, props in target[two].items():
        error = props.error if props is not None and props.error is not None else 0.0
        if graph.has_edge(*edge):
            error = max(error, graph.edges[edge]["error"])
        graph.add_edge(*edge, error=error)
    properties = backend.properties()

    def one(phys: int) -> float:
        e = target["sx"][(phys,)].error or 0.0
        return min(1.0, _ONE_QUBIT * (1.0 - (1.0 - e) ** 2))

    pair = []
    for ids in sorted({tuple(ids) for ids in pattern if len(ids) == 2}):
        a, b = layout[ids[0]], layout[ids[1]]
        path = nx.shortest_path(graph, a, b)
        errors = [graph.edges[u, v]["error"] for u, v in zip(path, path[1:])]
        gates = _CZ_PER_CONTROLLED_ROTATION + _CZ_PER_SWAP * (len(path) - 2)
        infidelity = 1.0 - (1.0 - float(np.mean(errors))) ** gates
        pair.append((ids, min(1.0, _TWO_QUBIT_EACH * infidelity)))

    def readout(phys: int) -> tuple[float, float]:
        props = properties.qubit_property(phys)
        return float(props["prob_meas1_prep0"][0]), float(props["prob_meas0_prep1"][0])

    return DeviceNoise(name, layout, tuple(one(q) for q in layout), tuple(pair),
                       tuple(readout(q) for q in layout))


def from_fake_backend(name: str, circuit: cirq.AbstractCircuit, qubits: Sequence[cirq.Qid],
                      seed: int = 0) -> DeviceNoise:
    """The noise of ``circuit`` on fake backend ``name`` (see the module docstring).

    Args:
        name: e.g. ``"fake_fez"``.
        circuit, qubits: the representation circuit (one- and two-qubit gates).
        seed: the transpiler's seed for the layout (level 3, as ``convert.evaluate``).

    Raises:
        ConfigError: ``name`` is not a fake backend, or the circuit has wider gates.
    """
    check_noise_from(name)
    index = {q: i for i, q in enumerate(qubits)}
    pattern = []
    for op in circuit.all_operations():
        ids = tuple(index[q] for q in op.qubits)
        if len(ids) > 2:
            raise ConfigError(f"noise_from supports one- and two-qubit gates, not {op}.")
        pattern.append(ids)
    return _from_fake_backend(name.strip().lower(), len(qubits), tuple(pattern), seed)


def _sites(circuit: cirq.AbstractCircuit, qubits: Sequence[cirq.Qid], noise: DeviceNoise):
    """``(op, [(qubit, p), ...])`` for every operation: where the channels go."""
    index = {q: i for i, q in enumerate(qubits)}
    for op in circuit.all_operations():
        ids = [index[q] for q in op.qubits]
        if len(ids) == 1:
            yield op, [(op.qubits[0], noise.gate[ids[0]])]
        else:
            p = noise.pair_probability(ids[0], ids[1])
            yield op, [(q, p) for q in op.qubits]


def channel_circuit(circuit: cirq.AbstractCircuit, qubits: Sequence[cirq.Qid],
                    noise: DeviceNoise) -> cirq.Circuit:
    """``circuit`` with ``cirq.depolarize`` after each gate (the reference semantics)."""
    import cirq  # noqa: PLC0415

    ops = []
    for op, sites in _sites(circuit, qubits, noise):
        ops.append(op)
        ops.extend(cirq.depolarize(p).on(q) for q, p in sites if p > 0)
    return cirq.Circuit(ops)


def pauli_frame(circuit: cirq.AbstractCircuit, qubits: Sequence[cirq.Qid], noise: DeviceNoise,
                ) -> tuple[cirq.Circuit, list[sympy.Symbol], np.ndarray]:
    """``circuit`` with ``rx(α_s)·rz(β_s)`` after each gate, for Pauli trajectories.

    Returns:
        ``(circuit, symbols, p)``: the frame circuit; its new symbols ``[α_0, β_0, α_1,
        β_1, ...]`` (per-row inputs, valued 0 or π); the depolarising probability of
        each site ``s``.
    """
    import cirq  # noqa: PLC0415
    import sympy  # noqa: PLC0415

    ops, symbols, probs = [], [], []
    for op, sites in _sites(circuit, qubits, noise):
        ops.append(op)
        for q, p in sites:
            if p <= 0:
                continue
            s = len(probs)
            alpha, beta = sympy.Symbol(f"noise_x{s}"), sympy.Symbol(f"noise_z{s}")
            ops += [cirq.rx(alpha).on(q), cirq.rz(beta).on(q)]
            symbols += [alpha, beta]
            probs.append(p)
    return cirq.Circuit(ops), symbols, np.asarray(probs, dtype=np.float64)

