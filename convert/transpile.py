"""Transpilation for a backend, and per-image recompilation into shallow circuits.

Paper: Jaderberg et al. (2021/22), Sec. 4.4 and App. D: after routing, the 8-qubit
2-layer ring needs 143 two-qubit gates on ibmq_paris (56 with today's level-3
transpiler), so each image's circuit was *recompiled* — with incremental structural
learning (ISL; Jaderberg et al. 2020) — into a circuit of ~14 CNOTs on average that
prepares the same state with ≥ 99 % overlap, using coupled qubits only.

:func:`recompile` keeps ISL's ingredients: it grows a circuit from nothing, one
layer of CNOT blocks at a time on a chain of coupled qubits, re-optimises every
angle after each layer, and stops once |⟨ψ|U|0…0⟩|² reaches the target. The circuit

    U = F · B_m ⋯ B_1,   B_j = CNOT(a_j, a_j + 1) · (u_{a_j} ⊗ u_{a_j + 1}),

acts on |0…0⟩ with B_1 first; F is one single-qubit unitary per qubit and every u is
a general U(2), written out as RZ·RY·RZ. Blocks form a brickwork on the chain; each
new layer is added at the input side (ISL appends to V = U†) and initialised in
closed form from the residual U†|ψ⟩. The angles are optimised by Evenbly–Vidal
sweeps: with all other gates fixed, the best u is the polar factor of its 2×2
environment, so the overlap never decreases. Greedy sweeps get stuck in local optima
on these states, so each depth is also tried from ``restarts`` random starts (in
trials on the W=8, L=2 ring this did better than ISL's block-by-block pair choice,
which needed similar CNOT counts at about three times the time). Once the target is
met, the newest layer's blocks are dropped one by one while it still holds, which
restores single-block granularity.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit.synthesis import OneQubitEulerDecomposer
from qiskit.transpiler import CouplingMap, generate_preset_pass_manager

from convert.backends import Backend, is_statevector
from tfq_ssl.errors import ConfigError


def transpile_for(
    circuit: QuantumCircuit,
    backend: Backend,
    optimization_level: int = 3,
    *,
    seed: int | None = None,
    initial_layout: Sequence[int] | None = None,
) -> QuantumCircuit:
    """Lower a circuit to the backend's gates and coupling map (preset pass manager).

    Args:
        circuit: logical circuit.
        backend: a ``BackendV2`` (the statevector backend has no target).
        optimization_level: 0–3.
        seed: transpiler seed, for reproducible layouts and routing.
        initial_layout: physical qubit of each logical qubit, or ``None`` to let
            the layout stage choose.

    Returns:
        The ISA circuit; its ``layout`` maps logical to physical qubits.
    """
    if is_statevector(backend):
        raise ValueError(
            "the statevector backend has no gate set or coupling map to transpile for."
        )
    if optimization_level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}.")
    pm = generate_preset_pass_manager(
        optimization_level=optimization_level,
        backend=backend,
        seed_transpiler=seed,
        initial_layout=None if initial_layout is None else list(initial_layout),
    )
    return pm.run(circuit)


def gate_stats(circuit: QuantumCircuit) -> dict[str, int]:
    """Two-qubit gate count, depth and size of a circuit (directives excluded).

    Returns:
        ``{"two_qubit": ..., "depth": ..., "size": ...}``.
    """
    ops = [i for i in circuit.data if not getattr(i.operation, "_directive", False)]
    return {
        "two_qubit": sum(1 for i in ops if len(i.qubits) == 2),
        "depth": circuit.depth(),
        "size": len(ops),
    }


# --------------------------------------------------------------------------- layout


def _undirected_edges(backend: Backend, width: int) -> tuple[set[tuple[int, int]], dict]:
    """Coupled pairs and their two-qubit gate errors (a line for the statevector backend)."""
    if is_statevector(backend):
        return {(i, i + 1) for i in range(width - 1)}, {}
    coupling: CouplingMap = backend.coupling_map
    edges = {tuple(sorted(e)) for e in coupling.get_edges()}
    errors: dict[tuple[int, int], float] = {}
    target = backend.target
    for name in target.operation_names:
        if target.operation_from_name(name).num_qubits != 2:
            continue
        for qargs, props in target[name].items():
            if qargs is not None and props is not None and props.error is not None:
                key = tuple(sorted(qargs))
                errors[key] = min(errors.get(key, np.inf), props.error)
    return edges, errors


def chain_layout(backend: Backend, width: int, max_paths: int = 20000) -> list[int]:
    """Physical qubits of a simple path of ``width`` coupled qubits.

    Among the paths found (at most ``max_paths``) it picks the one with the lowest
    summed two-qubit gate error; logical qubit ``k`` goes to position ``k``, so the
    ring's neighbours stay neighbours (all but the closing pair).

    Args:
        backend: the device (the statevector backend gives ``range(width)``).
        width: number of logical qubits W.
        max_paths: enumeration cap for large devices.

    Returns:
        ``width`` distinct physical qubit indices.

    Raises:
        ConfigError: the device has no such chain (too few or too sparsely coupled qubits).
    """
    edges, errors = _undirected_edges(backend, width)
    if is_statevector(backend):
        return list(range(width))
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    best: tuple[float, list[int]] | None = None
    count = 0

    def walk(path: list[int], cost: float) -> None:
        nonlocal best, count
        if count >= max_paths:
            return
        if len(path) == width:
            count += 1
            if best is None or cost < best[0]:
                best = (cost, list(path))
            return
        for n in sorted(neighbours.get(path[-1], [])):
            if n not in path:
                path.append(n)
                walk(path, cost + errors.get(tuple(sorted((path[-2], n))), 0.0))
                path.pop()

    for start in sorted(neighbours) if width > 1 else sorted(range(backend.num_qubits)):
        walk([start], 0.0)
    if best is None:
        # The device was the user's choice (--backend) for a run of this width.
        raise ConfigError(f"backend {backend.name!r} has no chain of {width} coupled qubits.")
    return best[1]


# --------------------------------------------------------------------------- ansatz


class _Ansatz:
    """U = F · B_m … B_1 as a list of operations on a little-endian statevector.

    ``ops`` are ``("u", q, k)`` (single-qubit unitary ``self.u[k]`` on qubit q) and
    ``("cx", c, t)``, in the order they act on |0…0⟩. Block B = CX(a, b)·(u_a ⊗ u_b);
    F is one u per qubit. Single-qubit gates are general U(2), so each can be
    optimised in closed form with the others fixed (the Evenbly–Vidal sweep).
    """

    def __init__(self, width: int):
        self.width = width
        self.blocks: list[tuple[int, int]] = []
        self.u = np.tile(np.eye(2, dtype=complex), (width, 1, 1))  # F, identity
        self._shapes = [(2 ** (width - q - 1), 2, 2**q) for q in range(width)]
        self._cx: dict[tuple[int, int], np.ndarray] = {}  # CNOT permutations, filled lazily

    def _replace(self, blocks: list[tuple[int, int]], u: np.ndarray) -> "_Ansatz":
        new = _Ansatz.__new__(_Ansatz)
        new.width, new._shapes, new._cx = self.width, self._shapes, self._cx
        new.blocks, new.u = blocks, u
        return new

    def with_block(self, pair: tuple[int, int], ua: np.ndarray, ub: np.ndarray) -> "_Ansatz":
        """A copy with one more block acting first on |0…0⟩."""
        return self._replace([pair, *self.blocks], np.concatenate([np.stack([ua, ub]), self.u]))

    def without_block(self, j: int) -> "_Ansatz":
        """A copy without block ``j`` (the other gates keep their unitaries)."""
        u = np.delete(self.u, [2 * j, 2 * j + 1], axis=0)
        return self._replace(self.blocks[:j] + self.blocks[j + 1 :], u)

    @property
    def ops(self) -> list[tuple[str, int, int]]:
        ops = []
        for j, (a, b) in enumerate(self.blocks):
            ops += [("u", a, 2 * j), ("u", b, 2 * j + 1), ("cx", a, b)]
        base = 2 * len(self.blocks)
        return ops + [("u", q, base + q) for q in range(self.width)]

    def apply(
        self, op: tuple[str, int, int], state: np.ndarray, adjoint: bool = False
    ) -> np.ndarray:
        kind, q, k = op
        if kind == "cx":
            if (q, k) not in self._cx:
                idx = np.arange(2**self.width)
                self._cx[(q, k)] = idx ^ (((idx >> q) & 1) << k)
            return state[self._cx[(q, k)]]
        u = self.u[k].conj().T if adjoint else self.u[k]
        return np.matmul(u, state.reshape(self._shapes[q])).reshape(-1)

    def environment(self, bra: np.ndarray, ket: np.ndarray, q: int) -> np.ndarray:
        """M with ⟨bra|u_q|ket⟩ = tr(u M)."""
        shape = self._shapes[q]
        return np.einsum("aib,ajb->ji", bra.reshape(shape).conj(), ket.reshape(shape))

    def zero(self) -> np.ndarray:
        state = np.zeros(2**self.width, dtype=complex)
        state[0] = 1.0
        return state

    def state(self) -> np.ndarray:
        """U|0…0⟩."""
        s = self.zero()
        for op in self.ops:
            s = self.apply(op, s)
        return s

    def sweep(self, target: np.ndarray, rounds: int, tol: float = 1e-7) -> tuple[float, np.ndarray]:
        """Maximise |⟨ψ|U|0⟩|² by alternating closed-form single-qubit updates.

        Each update sets u = argmax |tr(u M)| over U(2), i.e. u = Y·X† for
        M = X·S·Y†, so the overlap never decreases. One round is a backward and a
        forward pass over all gates.

        Returns:
            The overlap and the residual U†|ψ⟩.
        """
        ops = self.ops
        states = [self.zero()]
        for op in ops:
            states.append(self.apply(op, states[-1]))
        overlap, previous = 0.0, -1.0
        bras = [None] * (len(ops) + 1)
        for _ in range(rounds):
            bra = target
            for k in range(len(ops) - 1, -1, -1):  # backward: update, then pull the bra back
                if ops[k][0] == "u":
                    self._update(ops[k], bra, states[k])
                bras[k + 1] = bra
                bra = self.apply(ops[k], bra, adjoint=True)
            bras[0] = bra
            state = states[0]
            for k, op in enumerate(ops):  # forward: update, then push the state on
                if op[0] == "u":
                    self._update(op, bras[k + 1], state)
                state = self.apply(op, state)
                states[k + 1] = state
            overlap = abs(np.vdot(target, state)) ** 2
            if overlap - previous < tol:
                break
            previous = overlap
        residual = target
        for op in reversed(ops):
            residual = self.apply(op, residual, adjoint=True)
        return float(overlap), residual

    def _update(self, op: tuple[str, int, int], bra: np.ndarray, ket: np.ndarray) -> None:
        self.u[op[2]] = _best_unitary(self.environment(bra, ket, op[1]))

    def to_circuit(self) -> QuantumCircuit:
        """U as a Qiskit circuit of ``rz``, ``ry`` and ``cx`` (global phase kept)."""
        euler = OneQubitEulerDecomposer("ZYZ")
        qc = QuantumCircuit(self.width)
        for kind, q, k in self.ops:
            if kind == "cx":
                qc.cx(q, k)
                continue
            theta, phi, lam, phase = euler.angles_and_phase(self.u[k])
            qc.rz(lam, q)
            qc.ry(theta, q)
            qc.rz(phi, q)
            qc.global_phase += phase
        return qc


_CX = np.eye(4, dtype=complex)[[0, 1, 3, 2]]  # basis |a b⟩, a = control


def _best_unitary(m: np.ndarray) -> np.ndarray:
    """argmax |tr(u M)| over U(2): the adjoint of M's unitary polar factor.

    For M = X·S·Y†, M + e^{i·arg det M}·adj(M)† = (s₁ + s₂)·X·Y†; plain complex
    arithmetic instead of an SVD, since this runs once per gate per sweep.
    """
    (a, b), (c, d) = m.tolist()
    det = a * d - b * c
    phase = det / abs(det) if abs(det) > 1e-300 else 1.0
    p00, p01 = a + phase * d.conjugate(), b - phase * c.conjugate()
    p10, p11 = c - phase * b.conjugate(), d + phase * a.conjugate()
    norm = math.sqrt((abs(p00) ** 2 + abs(p01) ** 2 + abs(p10) ** 2 + abs(p11) ** 2) / 2)
    if norm < 1e-300:
        return np.eye(2, dtype=complex)
    return np.array([[p00.conjugate(), p10.conjugate()], [p01.conjugate(), p11.conjugate()]]) / norm


def _state_unitary(vec: np.ndarray) -> np.ndarray:
    """A single-qubit unitary whose first column is the normalised ``vec``."""
    x0, x1 = vec / np.linalg.norm(vec)
    return np.array([[x0, -np.conj(x1)], [x1, np.conj(x0)]])


def _best_block(
    residual: np.ndarray, pair: tuple[int, int]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Best |⟨r|CX(a,b)(u_a ⊗ u_b)|0…0⟩|² over the new block alone, in closed form.

    With every other qubit in |0⟩ only the pair's 4 amplitudes of r count; the
    best product state against CX†·r_ab is its leading singular pair.

    Returns:
        ``(overlap, u_a, u_b)``.
    """
    a, b = pair
    amps = residual[[(i << a) | (j << b) for i in (0, 1) for j in (0, 1)]]  # r[i_a, j_b]
    m = (_CX.conj().T @ amps).reshape(2, 2)
    x, s, yh = np.linalg.svd(m)
    return float(s[0] ** 2), _state_unitary(x[:, 0]), _state_unitary(yh[0])


@dataclass(frozen=True)
class Recompiled:
    """A recompiled circuit and how it was found.

    Attributes:
        circuit: logical circuit on W qubits (``rz``, ``ry``, ``cx``); every ``cx``
            acts on logical neighbours k, k+1, coupled under ``initial_layout``.
        initial_layout: physical qubit of each logical qubit (a chain).
        overlap: |⟨ψ|U|0…0⟩|² with the target state.
        two_qubit: number of CNOTs in ``circuit``.
        converged: whether ``overlap`` reached the target.
        seconds: wall time of the search.
    """

    circuit: QuantumCircuit
    initial_layout: list[int]
    overlap: float
    two_qubit: int
    converged: bool
    seconds: float


def _haar(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
    return q * (np.diag(r) / abs(np.diag(r)))


def _brickwork(
    width: int, layers: list[list[tuple[int, int]]], rng: np.random.Generator
) -> _Ansatz:
    """Blocks of ``layers`` (input side first) with random single-qubit unitaries."""
    ansatz = _Ansatz(width)
    for layer in reversed(layers):
        for pair in layer:
            ansatz = ansatz.with_block(pair, _haar(rng), _haar(rng))
    ansatz.u[-width:] = [_haar(rng) for _ in range(width)]
    return ansatz


def recompile(
    circuit: QuantumCircuit,
    backend: Backend,
    *,
    target_overlap: float = 0.99,
    max_two_qubit: int | None = None,
    initial_layout: Sequence[int] | None = None,
    restarts: int = 2,
    rounds: int = 100,
    seed: int = 0,
) -> Recompiled:
    """A shallow circuit on a chain of coupled qubits that prepares the same state.

    Args:
        circuit: logical, measurement-free circuit on W qubits (one image's
            representation circuit).
        backend: device whose coupling map the CNOTs must follow; the statevector
            backend uses a line.
        target_overlap: stop once |⟨ψ|U|0…0⟩|² reaches this.
        max_two_qubit: CNOT budget; default 6·W.
        initial_layout: a chain of physical qubits (logical k on ``initial_layout[k]``);
            default :func:`chain_layout`.
        restarts: random starts per depth besides the warm start.
        rounds: sweep rounds per optimisation (fewer once converged).
        seed: seed of the random starts.

    Returns:
        The best circuit found; ``converged`` says whether it met ``target_overlap``.
        If not, it is the deepest one tried (at most ``max_two_qubit`` CNOTs).
    """
    if not 0.0 < target_overlap <= 1.0:
        raise ValueError(f"target_overlap must be in (0, 1], got {target_overlap!r}.")
    if circuit.num_clbits or circuit.layout is not None:
        raise ValueError(
            "recompile needs the logical, measurement-free circuit (no layout, no clbits)."
        )
    start = time.perf_counter()
    width = circuit.num_qubits
    budget = 6 * width if max_two_qubit is None else int(max_two_qubit)
    if initial_layout is None:
        layout = chain_layout(backend, width)
    else:
        layout = [int(q) for q in initial_layout]
    edges, _ = _undirected_edges(backend, max(width, 2))
    uncoupled = [p for p in zip(layout, layout[1:]) if tuple(sorted(p)) not in edges]
    if len(set(layout)) != width or uncoupled:
        raise ValueError(
            f"initial_layout must be a chain of {width} coupled physical qubits, got {layout}."
        )
    psi = Statevector(circuit).data
    rng = np.random.default_rng(seed)
    parities = [p for p in (0, 1) if range(p, width - 1, 2)]
    ansatz = _Ansatz(width)
    overlap, residual = ansatz.sweep(psi, rounds)
    layers: list[list[tuple[int, int]]] = []
    while overlap < target_overlap and parities and len(ansatz.blocks) < budget:
        layer = [(k, k + 1) for k in range(parities[len(layers) % len(parities)], width - 1, 2)]
        layer = layer[: budget - len(ansatz.blocks)]
        layers.insert(0, layer)
        warm = ansatz
        for pair in layer:
            warm = warm.with_block(pair, *_best_block(residual, pair)[1:])
        tries = [warm] + [_brickwork(width, layers, rng) for _ in range(restarts)]
        results = [(*t.sweep(psi, rounds), t) for t in tries]
        overlap, residual, ansatz = max(results, key=lambda r: r[0])
    if overlap >= target_overlap and layers:
        # A layer is 3-4 blocks: try dropping the newest layer's blocks one by one.
        for j in reversed(range(len(layers[0]))):
            trial = ansatz.without_block(j)
            trial_overlap, trial_residual = trial.sweep(psi, rounds)
            if trial_overlap >= target_overlap:
                overlap, residual, ansatz = trial_overlap, trial_residual, trial
    return Recompiled(
        circuit=ansatz.to_circuit(),
        initial_layout=layout,
        overlap=overlap,
        two_qubit=len(ansatz.blocks),
        converged=overlap >= target_overlap,
        seconds=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class CompileReport:
    """Gate statistics of one image's circuit along the compilation path.

    Attributes:
        logical: ``gate_stats`` before routing (CRX etc. counted as one gate).
        level3: after preset level-3 transpilation (``None`` on the statevector backend).
        recompiled: after recompilation and transpilation onto its chain (``None`` if
            recompilation was not asked for).
        overlap: state overlap of the executed circuit with the exact one (1 unless
            the recompiled circuit is executed).
        used: ``"logical"``, ``"level3"`` or ``"recompiled"``: what is executed.
        seconds: recompilation time (0 if none).
    """

    logical: dict[str, int]
    level3: dict[str, int] | None
    recompiled: dict[str, int] | None
    overlap: float
    used: str
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def compile_for_device(
    circuit: QuantumCircuit,
    backend: Backend,
    *,
    recompile_circuit: bool = False,
    optimization_level: int = 3,
    seed: int | None = None,
    target_overlap: float = 0.99,
    max_two_qubit: int | None = None,
) -> tuple[QuantumCircuit, CompileReport]:
    """The circuit to execute for one image, and how it was obtained.

    The level-3 transpilation is the reference. With ``recompile_circuit`` the
    recompiled circuit is used when it reached ``target_overlap`` with fewer
    two-qubit gates than the reference; otherwise the exact reference is used.

    Args:
        circuit: logical, measurement-free circuit.
        backend: target backend; on the statevector backend the logical (or
            recompiled logical) circuit is returned untranspiled.
        recompile_circuit: whether to try :func:`recompile`.
        optimization_level: preset level of the reference transpilation.
        seed: transpiler and recompilation seed.
        target_overlap: see :func:`recompile`.
        max_two_qubit: recompilation budget; default the reference's two-qubit count
            (:func:`recompile`'s default on the statevector backend).

    Returns:
        ``(circuit, report)``; the circuit is ISA (with a layout) except on the
        statevector backend.
    """
    exact = is_statevector(backend)
    chosen = circuit if exact else transpile_for(circuit, backend, optimization_level, seed=seed)
    level3 = None if exact else gate_stats(chosen)
    report = dict(logical=gate_stats(circuit), level3=level3, recompiled=None, overlap=1.0,
                  used="logical" if exact else "level3", seconds=0.0)  # fmt: skip
    if recompile_circuit:
        # CRX counts as one gate before routing, so only a routed count is a fair budget.
        reference = None if exact else level3["two_qubit"]
        budget = reference if max_two_qubit is None else max_two_qubit
        found = recompile(
            circuit, backend, target_overlap=target_overlap, max_two_qubit=budget, seed=seed or 0
        )
        candidate = (
            found.circuit
            if exact
            else transpile_for(
                found.circuit, backend, optimization_level,
                seed=seed, initial_layout=found.initial_layout,
            )  # fmt: skip
        )
        stats = gate_stats(candidate)
        report.update(recompiled=stats, seconds=found.seconds)
        if found.converged and (exact or stats["two_qubit"] < reference):
            chosen = candidate
            report.update(overlap=found.overlap, used="recompiled")
    return chosen, CompileReport(**report)
