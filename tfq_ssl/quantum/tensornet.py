"""Exact ⟨Z_k⟩ by tensor-network contraction, for circuits with few gates across cuts.

The ring ansatz of the paper (Jaderberg et al., "Quantum Self-Supervised Learning",
Fig. 2) couples only neighbouring qubits, and each of its two-qubit gates is a
controlled rotation, which splits exactly into two one-qubit pieces joined by a
bond of dimension 2:

    CRX(a) = |0⟩⟨0| ⊗ I + |1⟩⟨1| ⊗ RX(a)   (bond value 0 or 1).

Cutting the ring between any two neighbours crosses at most 2·L such bonds, so the
whole circuit is a ring of W small tensors and ⟨ψ|Z_k|ψ⟩ is the trace of a product
of W transfer matrices of size 4**L: cost linear in W instead of the 2**W of a
statevector, with no truncation and no SVD. W = 16 costs about what W = 8 does, and
W = 32 or 64 are practical at the paper's depth.

:class:`TensorNetworkAutodiff` compiles any Cirq circuit of single-qubit gates and
singly controlled single-qubit gates (CRX/CRY/CRZ, CNOT, CZ, and the CZ·RX·CZ·RX
decomposed form) into this contraction: each qubit's column of gates becomes a
tensor with one index per bond it touches, the ket and bra copies are joined into a
transfer matrix, and the ring is contracted with batched matmuls. Prefix and suffix
products are shared by every ⟨Z_k⟩, so all W read-outs cost about 3·W matmuls of
4**L x 4**L matrices per batch row. Qubits with like gate sequences (all but qubit
0 of the ring) build their columns together, so the op count barely grows with W.
Gradients reach the per-row input angles and the shared weights through TF
autodiff, on CPU or GPU, in ``tf.function`` and under XLA.

The circuit stays the single source of truth: the same gate compiler as
:class:`tfq_ssl.quantum.statevector.StatevectorAutodiff` reads it, and the two agree to
float32 round-off (tests/tfq_ssl/quantum/test_tensornet.py).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf

from tfq_ssl.checks import check_positive_int
from tfq_ssl.quantum.circuit_compiler import (
    ROTATION_GENERATORS, AngleTable, CircuitEngine, Gate, Rotation,
)
from tfq_ssl.quantum.statevector import StatevectorAutodiff

__all__ = ["TensorNetworkAutodiff", "DEFAULT_MAX_CUT"]

# Bonds (ket + bra) an intermediate contraction may keep open: 4**6 = 4096 numbers per
# batch row, the ring ansatz up to L = 3.
DEFAULT_MAX_CUT = 6


@dataclasses.dataclass(frozen=True)
class _Factor:
    """A 2x2 matrix ``const + cos(a/2)·cos_part + sin(a/2)·sin_part`` of rotation a."""

    const: np.ndarray
    cos_part: np.ndarray
    sin_part: np.ndarray
    rotation: int | None


@dataclasses.dataclass(frozen=True)
class _Event:
    """One step of a qubit's column: a one-qubit gate (``bond`` None) or half a
    two-qubit gate, ``sum_b factors[b] ⊗ (partner's factor b)`` over bond value b,
    whose partner is the previous (``bond="left"``) or next (``"right"``) qubit."""

    bond: str | None
    factors: tuple[_Factor, ...]


@dataclasses.dataclass(frozen=True)
class _GroupFactor:
    """Factors of the same event of every qubit in a group, stacked: (G, 2, 2) parts,
    ``kind`` None (constant), "shared" or "row", ``index`` into that kind's angles."""

    const: np.ndarray
    cos_part: np.ndarray
    sin_part: np.ndarray
    kind: str | None
    index: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Group:
    """Qubits whose columns have the same sequence of event shapes."""

    qubits: list[int]
    events: list[tuple[str | None, list[_GroupFactor]]]


def _affine_parts(gate: Gate, rotations: Sequence[Rotation]):
    """(const, cos_part, sin_part) of a gate template, full size, complex."""
    mask = gate.slots >= 0
    const = np.where(mask, 0, gate.const).astype(complex)
    if gate.rotation is None:
        zero = np.zeros_like(const)
        return const, zero, zero
    index = np.clip(gate.slots, 0, None)
    eye = np.eye(2, dtype=complex).reshape(-1)
    generator = ROTATION_GENERATORS[rotations[gate.rotation].axis].reshape(-1)
    return const, np.where(mask, eye[index], 0), np.where(mask, generator[index], 0)


def _split_controlled(gate: Gate, rotations, op: cirq.Operation):
    """(control position, [control factors], [target factors]) of a two-qubit gate."""
    parts = _affine_parts(gate, rotations)
    nonzero = np.zeros((4, 4), bool)
    for part in parts:
        nonzero |= np.abs(part) > 1e-12
    for control in (0, 1):
        bit = (np.arange(4) >> (1 - control)) & 1
        if np.any(nonzero & (bit[:, None] != bit[None, :])):
            continue
        control_factors, target_factors = [], []
        for b in (0, 1):
            rows = np.flatnonzero(bit == b)
            block = [p[np.ix_(rows, rows)] for p in parts]
            projector = np.diag([1.0 - b, float(b)]).astype(complex)
            zero = np.zeros((2, 2), complex)
            control_factors.append(_Factor(projector, zero, zero, None))
            target_factors.append(_Factor(*block, gate.rotation))
        return control, control_factors, target_factors
    raise ValueError(
        f"operation {op!r} is a two-qubit gate that is not a controlled one-qubit gate; "
        "the tensor-network backend handles only controlled gates (CRX, CNOT, CZ, ...) "
        "between two qubits. Use the statevector backend for this circuit."
    )


class TensorNetworkAutodiff(CircuitEngine):
    """Exact batched ⟨Z_k⟩ of a Cirq circuit by contracting it as a ring/chain network.

    Use it for circuits whose two-qubit gates are all controlled one-qubit gates and
    couple qubits that are close in register order (the ring ansatz: every cut
    crosses 2·L bonds). Input-symbol angles vary per batch row, weight-symbol angles
    are shared, each angle may be any affine expression of the symbols — as in
    :class:`tfq_ssl.quantum.statevector.StatevectorAutodiff`, whose arguments it shares.

    Example:
        >>> circuit, qubits, xs, ws = circuits.representation_circuit(16, 2, "ring")
        >>> sim = TensorNetworkAutodiff(circuit, qubits, xs, ws)
        >>> sim.expectation_z(angles, weights)  # (B, 16) float32

    Args:
        circuit: single-qubit gates and singly controlled single-qubit gates.
        qubits: the register; the contraction runs in this order, so qubits that
            share gates should be near each other in it.
        input_symbols: per-row symbols, in the column order of ``inputs``.
        weight_symbols: shared symbols, in the order of ``weights``.
        dtype: ``tf.complex64`` (float32 in/out) or ``tf.complex128`` (float64).
        max_cut: most bonds a partial contraction may keep open; it then holds
            4**max_cut numbers per batch row. The ring ansatz needs 2·L.

    Note:
        Cost per batch row is about 3·W products of 4**L x 4**L complex matrices
        (forward; about three times that with gradients): linear in W, cubic in 4**L.
        At L = 2 it overtakes the statevector simulator near W = 12 (figures:
        bench/README.md, "Tensor-network backend"). Deep circuits
        (L >= 4 at the default ``max_cut``) or all-to-all gates are refused; run them
        with the statevector backend.

    Raises:
        ValueError: as ``StatevectorAutodiff`` for bad circuits, symbols, qubits or
            dtype; also for a two-qubit gate that is not a controlled one-qubit gate,
            a gate on three or more qubits, or a circuit whose contraction would keep
            more than ``max_cut`` bonds open.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
        dtype: tf.DType = tf.complex64,
        max_cut: int = DEFAULT_MAX_CUT,
    ):
        compiler = self._setup(circuit, qubits, input_symbols, weight_symbols, dtype)
        self.max_cut = check_positive_int("max_cut", max_cut)
        self._columns: list[list[_Event]] = [[] for _ in self.qubits]
        # Bonds to the previous qubit in ring order (those to the next one are the
        # next qubit's left bonds).
        self._left_bonds = [0] * self.width
        for op in circuit.all_operations():
            gate = compiler.gate(op)
            if np.allclose(gate.const, np.eye(len(gate.const))) and gate.rotation is None:
                continue  # identities
            if len(gate.qubits) == 1:
                factor = _Factor(*_affine_parts(gate, compiler.rotations), gate.rotation)
                self._columns[gate.qubits[0]].append(_Event(None, (factor,)))
                continue
            if len(gate.qubits) != 2:
                raise ValueError(
                    f"operation {op!r} acts on {len(gate.qubits)} qubits; the "
                    "tensor-network backend handles one- and two-qubit gates only."
                )
            control, control_factors, target_factors = _split_controlled(
                gate, compiler.rotations, op
            )
            pair = gate.qubits if control == 0 else gate.qubits[::-1]
            for qubit, partner, factors in zip(pair, pair[::-1], (control_factors, target_factors)):
                side = self._side(qubit, partner, op)
                self._columns[qubit].append(_Event(side, tuple(factors)))
                if side == "left":
                    self._left_bonds[qubit] += 1
        self._rotations = compiler.rotations
        self._check_cut()

        self._angle_table = table = AngleTable.of(self._rotations, self.n_inputs, self.n_weights)
        self._slot = {i: ("shared", k) for k, i in enumerate(table.shared)}
        self._slot.update({i: ("row", k) for k, i in enumerate(table.row)})
        self._state_simulator: StatevectorAutodiff | None = None
        self._groups = self._group_columns()

    # -- compile ------------------------------------------------------------------

    def _side(self, qubit: int, partner: int, op: cirq.Operation) -> str:
        """Whether ``partner`` is the next ("right") or previous ("left") qubit of the ring."""
        if partner == (qubit + 1) % self.width and (self.width > 2 or qubit < partner):
            return "right"
        if partner == (qubit - 1) % self.width:
            return "left"
        raise ValueError(
            f"operation {op!r} couples {self.qubits[qubit]} and {self.qubits[partner]}, "
            "which are not neighbours in the register's ring order; the tensor-network "
            "backend contracts rings and chains of nearest-neighbour gates only. Use the "
            "statevector backend, or order the register so that coupled qubits are adjacent."
        )

    @property
    def max_open_bonds(self) -> int:
        """Bonds open in the widest partial contraction (2·L for the ring ansatz)."""
        return self._left_bonds[0] + max(self._left_bonds)

    def _check_cut(self) -> None:
        """Refuse circuits whose partial contractions would be too large."""
        if self.max_open_bonds > self.max_cut:
            raise ValueError(
                f"the contraction of this circuit keeps {self.max_open_bonds} bonds open "
                f"(max_cut={self.max_cut}): {self._left_bonds[0]} closing the ring and "
                f"{max(self._left_bonds)} between neighbours, i.e. 4**{self.max_open_bonds} "
                "numbers per batch row. Use the statevector backend for circuits this "
                "deep, or raise max_cut."
            )

    def _kind(self, factor: _Factor) -> str | None:
        return None if factor.rotation is None else self._slot[factor.rotation][0]

    def _group_columns(self) -> list[_Group]:
        """Stack the columns of qubits with like gate sequences (one group per shape)."""
        by_shape: dict[tuple, list[int]] = {}
        for k, events in enumerate(self._columns):
            shape = tuple((e.bond, tuple(self._kind(f) for f in e.factors)) for e in events)
            by_shape.setdefault(shape, []).append(k)
        groups = []
        for shape, members in by_shape.items():
            events = []
            for position, (bond, kinds) in enumerate(shape):
                factors = []
                for slot, kind in enumerate(kinds):
                    parts = [self._columns[k][position].factors[slot] for k in members]
                    factors.append(_GroupFactor(
                        np.stack([f.const for f in parts]),
                        np.stack([f.cos_part for f in parts]),
                        np.stack([f.sin_part for f in parts]),
                        kind,
                        np.array([-1 if kind is None else self._slot[f.rotation][1]
                                  for f in parts]),
                    ))
                events.append((bond, factors))
            groups.append(_Group(members, events))
        return groups

    # -- run ------------------------------------------------------------------------

    def _half_angles(self, inputs, weights):
        rdt, table = self.real_dtype, self._angle_table
        shared = table.shared_half_angles(weights, rdt)
        rows = table.row_half_angles(inputs, weights, rdt)
        return {"shared": (tf.cos(shared), tf.sin(shared)), "row": (tf.cos(rows), tf.sin(rows))}

    def _matrix(self, factor: _GroupFactor, trig) -> tf.Tensor:
        """(G, 2, 2) for a constant or shared factor, (G, B, 2, 2) for a per-row one."""
        dt = self.dtype
        const = tf.constant(factor.const, dt)
        if factor.kind is None:
            return const
        cos, sin = trig[factor.kind]
        index = tf.constant(factor.index, tf.int32)
        # tf.complex, not tf.cast: its gradient takes the real part without a warning.
        cos, sin = (tf.gather(t, index, axis=-1) for t in (cos, sin))
        cos, sin = (tf.complex(t, tf.zeros_like(t)) for t in (cos, sin))
        if factor.kind == "row":  # (B, G) -> (G, B, 1, 1)
            cos, sin = (tf.transpose(t)[..., None, None] for t in (cos, sin))
            const = const[:, None]
            parts = (tf.constant(factor.cos_part, dt)[:, None], tf.constant(factor.sin_part, dt)[:, None])
        else:
            cos, sin = cos[:, None, None], sin[:, None, None]
            parts = (tf.constant(factor.cos_part, dt), tf.constant(factor.sin_part, dt))
        return const + cos * parts[0] + sin * parts[1]

    def _apply(self, factor: _GroupFactor, trig, column: tf.Tensor) -> tf.Tensor:
        """``factor`` applied to the basis-state axis of a (G, B|1, l, r, 2) column.

        One batched matmul by the transposed 2x2 matrices: much cheaper than a
        broadcast matvec over thousands of tiny matrices.
        """
        shape = tf.shape(column)
        matrix = self._matrix(factor, trig)
        if len(matrix.shape) == 3:
            out = tf.matmul(tf.reshape(column, [shape[0], -1, 2]), matrix, transpose_b=True)
        else:
            out = tf.matmul(
                tf.reshape(column, [shape[0], shape[1], -1, 2]), matrix, transpose_b=True
            )
            shape = tf.concat([tf.shape(out)[:2], shape[2:]], 0)
        return tf.reshape(out, shape)

    def _column(self, group: _Group, trig) -> tf.Tensor:
        """The ket columns (G, B|1, 2**left, 2**right, 2) of a group of like qubits.

        Entry [g, b, l, r, s] is the amplitude of basis state s of the group's qubit g
        given the values l of its bonds to the previous qubit and r of those to the
        next one (bonds in circuit order, the latest fastest, so no transpose is ever
        needed). Qubits whose gate sequences have the same shape (all but one qubit of
        the ring ansatz) are computed together.
        """
        size = len(group.qubits)
        column = tf.tile(tf.constant([[[[[1.0, 0.0]]]]], self.dtype), [size, 1, 1, 1, 1])
        for bond, factors in group.events:
            if bond is None:
                column = self._apply(factors[0], trig, column)
                continue
            halves = [self._apply(f, trig, column) for f in factors]
            shape = tf.broadcast_dynamic_shape(tf.shape(halves[0]), tf.shape(halves[1]))
            halves = [tf.broadcast_to(h, shape) for h in halves]
            g, b, l, r = shape[0], shape[1], shape[2], shape[3]
            if bond == "left":
                stacked = tf.stack(halves, axis=3)  # (G, B, l, 2, r, 2)
                column = tf.reshape(stacked, [g, b, 2 * l, r, 2])
            else:
                stacked = tf.stack(halves, axis=4)  # (G, B, l, r, 2, 2)
                column = tf.reshape(stacked, [g, b, l, 2 * r, 2])
        n_left = sum(bond == "left" for bond, _ in group.events)
        n_right = sum(bond == "right" for bond, _ in group.events)
        return tf.reshape(column, [size, -1, 2**n_left, 2**n_right, 2])  # static shape

    @staticmethod
    def _transfer(column: tf.Tensor, sign: tf.Tensor | None) -> tf.Tensor:
        """Σ_s O_s col[l, r, s] conj(col[l', r', s]) as (G, B|1, 4**left, 4**right) matrices.

        Rows are (ket, bra) values of the bonds to the previous qubit, columns those
        to the next one, so the ring is a product of these matrices.
        """
        ket = column if sign is None else column * sign
        transfer = tf.einsum("...lrs,...mns->...lmrn", ket, tf.math.conj(column))
        size, _, left, right, _ = column.shape
        return tf.reshape(transfer, [size, -1, left * left, right * right])

    def _state(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        # A contraction gives ⟨Z⟩, not amplitudes: full states (for the metrics only)
        # come from the statevector simulator of the same circuit, built on first use.
        if self._state_simulator is None:
            self._state_simulator = StatevectorAutodiff(
                self.circuit, self.qubits, self.input_symbols, self.weight_symbols, self.dtype
            )
        return self._state_simulator.state(inputs, weights)

    def _expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        trig = self._half_angles(inputs, weights)
        sign = tf.constant([1.0, -1.0], self.dtype)
        plain, z_transfers = [None] * self.width, [None] * self.width
        for group in self._groups:
            column = self._column(group, trig)
            for k, t, z in zip(group.qubits, tf.unstack(self._transfer(column, None)),
                               tf.unstack(self._transfer(column, sign))):
                plain[k], z_transfers[k] = t, z
        width = self.width
        # prefix[k] = T_0 ... T_(k-1), suffix[k] = T_(k+1) ... T_(W-1). The ring's
        # trace gives ⟨Z_k⟩ = Tr(prefix[k] T^Z_k suffix[k]) = Σ (suffix[k] prefix[k])ᵀ ∘ T^Z_k.
        prefix = [None, plain[0]]
        for k in range(1, width - 1):
            prefix.append(tf.matmul(prefix[-1], plain[k]))
        suffix = [None]
        for k in range(width - 1, 0, -1):
            suffix.append(plain[k] if suffix[-1] is None else tf.matmul(plain[k], suffix[-1]))
        suffix.reverse()
        batch = tf.shape(inputs)[0]
        if width == 1:
            return tf.broadcast_to(tf.math.real(tf.linalg.trace(z_transfers[0]))[:, None], [batch, 1])
        envs = [
            suffix[k] if prefix[k] is None else prefix[k] if suffix[k] is None
            else tf.matmul(suffix[k], prefix[k])
            for k in range(width)
        ]
        envs = [tf.broadcast_to(e, [batch, e.shape[1], e.shape[2]]) for e in envs]
        z_transfers = [tf.broadcast_to(z, [batch, z.shape[1], z.shape[2]]) for z in z_transfers]
        if len({e.shape[1:] for e in envs}) == 1:  # the ring: one contraction for all k
            values = tf.einsum("kbij,kbji->bk", tf.stack(envs), tf.stack(z_transfers))
            return tf.math.real(values)
        values = [tf.einsum("bij,bji->b", e, z) for e, z in zip(envs, z_transfers)]
        return tf.math.real(tf.stack(values, axis=1))
