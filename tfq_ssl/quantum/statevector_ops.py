"""Index arithmetic and small TensorFlow kernels of the statevector simulator.

The state is stored as real numbers with (re, im) interleaved on its last axis, as
a Kronecker product of clusters of qubits, each in a tracked qubit order (see
:mod:`tfq_ssl.quantum.statevector`). These helpers build the tables that plan
needs (embedded block matrices, basis permutations, merged transposes) and apply
them (gathers, real matmuls, Kronecker products).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from tfq_ssl.quantum.circuit_compiler import Gate


def complex_constant(array: np.ndarray, dtype: tf.DType) -> tf.Tensor:
    """``tf.constant(array, dtype)`` for a complex ``dtype``, the same values, built from
    the real and imaginary parts: a graph constant of a complex array is serialised one
    element at a time, a real one in a single copy (the ring's block tables take most of a
    trace otherwise)."""
    array = np.asarray(array)
    return tf.complex(tf.constant(array.real, dtype.real_dtype),
                      tf.constant(array.imag, dtype.real_dtype))


@dataclasses.dataclass
class Block:
    """A step on the state: a fused unitary, one per-row gate, or a basis permutation."""

    gates: list[Gate]
    qubits: set[int]
    kind: str  # "shared" (weights only), "row" (per-row angle) or "permutation"
    local: tuple[int, ...] = ()  # qubit order of the block's basis (planned later)

    @property
    def per_row(self) -> bool:
        return self.kind == "row"


def signed_permutation(gate: Gate) -> bool:
    """Whether a gate is a fixed permutation with real ±1 entries (X, Z, CNOT, CZ)."""
    m = gate.const
    if gate.rotation is not None or not np.allclose(m.imag, 0):
        return False
    nonzero = ~np.isclose(m.real, 0)
    return (
        bool(np.all(np.isclose(np.abs(m.real[nonzero]), 1)))
        and bool(np.all(nonzero.sum(0) == 1))
        and bool(np.all(nonzero.sum(1) == 1))
    )



def bit(x: np.ndarray, position: int, width: int) -> np.ndarray:
    """Bit of ``x`` for qubit ``position`` in a big-endian register of ``width``."""
    return (x >> (width - 1 - position)) & 1


def merged_transpose(old: Sequence[int], new: Sequence[int]):
    """View shape (without batch) and permutation taking layout ``old`` to ``new``.

    Axes that stay adjacent and in order are merged, which keeps the rank small.
    """
    source = [list(old).index(q) for q in new]
    runs: list[list[int]] = []
    for position in source:
        if runs and position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    by_start = sorted(range(len(runs)), key=lambda r: runs[r][0])
    view = tuple(2 ** len(runs[r]) for r in by_start)
    rank_of = {r: i for i, r in enumerate(by_start)}
    perm = (0,) + tuple(1 + rank_of[r] for r in range(len(runs)))
    return view, perm



def bit_reverse(value: int, bits: int) -> int:
    return int(format(value, f"0{bits}b")[::-1], 2) if bits else 0


def embed(matrix: np.ndarray, qubits: Sequence[int], local: Sequence[int], fill=0) -> np.ndarray:
    """``matrix`` on ``qubits`` as a 2**k x 2**k matrix on the basis ``local``.

    Entries that would change a bit outside ``qubits`` are ``fill`` (0 for a plain
    matrix; the index of constant 0 for an index table).
    """
    k, a = len(local), len(qubits)
    positions = [local.index(q) for q in qubits]
    r = np.arange(2**k)[:, None]
    c = np.arange(2**k)[None, :]
    same = np.ones((2**k, 2**k), dtype=bool)
    for p in range(k):
        if p not in positions:
            same &= bit(r, p, k) == bit(c, p, k)
    gr = sum(bit(r, p, k) << (a - 1 - i) for i, p in enumerate(positions))
    gc = sum(bit(c, p, k) << (a - 1 - i) for i, p in enumerate(positions))
    gr, gc = np.broadcast_arrays(gr, gc)
    return np.where(same, matrix[gr, gc], fill)


def basis_permutation(gates: list[Gate], layout: tuple[int, ...]):
    """Gather indices (and ±1 signs) of a run of signed-permutation gates.

    Returns ``(source, inverse, signs)``: the new amplitude j is
    ``signs[j] * old[source[j]]`` over the basis of ``layout``; ``signs`` is None
    when all are +1.
    """
    n = len(layout)
    dtype = np.int32 if n < 31 else np.int64
    basis = np.arange(2**n, dtype=dtype)  # where each input basis state has gone
    sign = None
    for gate in gates:
        shifts = [n - 1 - layout.index(q) for q in gate.qubits]
        a = len(shifts)
        # Small tables over the gate's 2**a local states: target state and sign.
        nonzero = np.abs(gate.const.real) > 0.5
        target = np.argmax(nonzero, axis=0)
        factor = gate.const.real[target, np.arange(2**a)]
        local = np.zeros_like(basis)
        for i, shift in enumerate(shifts):
            local |= ((basis >> shift) & 1) << (a - 1 - i)
        if np.any(factor < 0):
            step = factor[local]
            sign = step if sign is None else sign * step
        flips = (np.arange(2**a) ^ target).astype(dtype)
        if np.any(flips):
            changed = flips[local]
            for i, shift in enumerate(shifts):
                basis ^= ((changed >> (a - 1 - i)) & 1) << shift
    source = np.empty(2**n, dtype=np.int32)
    source[basis] = np.arange(2**n, dtype=np.int32)
    inverse = basis.astype(np.int32)
    if sign is None:
        return source, inverse, None
    signs = np.empty(2**n)
    signs[basis] = sign
    return source, inverse, signs


def permute(tensor: tf.Tensor, source: np.ndarray, inverse: np.ndarray) -> tf.Tensor:
    """Gather along the basis axis; the gradient is the inverse gather (no scatter)."""

    @tf.custom_gradient
    def permute(x):
        def grad(dy):
            return tf.gather(dy, tf.constant(inverse), axis=1)

        return tf.gather(x, tf.constant(source), axis=1), grad

    return permute(tensor)


def realify(u: tf.Tensor) -> tf.Tensor:
    """Complex (..., d, d) U as the real (..., 2d, 2d) M with s' = s·M.

    A state is stored with (re, im) interleaved on its last axis, so that
    ψ'_i = Σ_j U_ij ψ_j becomes one real matmul: M[2j+a, 2i+c] is Re U_ij for
    a = c, -Im U_ij for (a, c) = (1, 0) and Im U_ij for (0, 1).
    """
    ut = tf.linalg.matrix_transpose(u)
    re, im = tf.math.real(ut), tf.math.imag(ut)
    m = tf.stack([tf.stack([re, im], -1), tf.stack([-im, re], -1)], axis=-3)  # (.., j, a, i, c)
    d = u.shape[-1]
    leading = [
        u.shape[i] if u.shape[i] is not None else tf.shape(u)[i] for i in range(u.shape.rank - 2)
    ]
    return tf.reshape(m, leading + [2 * d, 2 * d])


def kron(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """Kronecker product of two real-stored states (B|1, m, 2) ⊗ (B|1, n, 2)."""
    j = tf.stack([-c[..., 1], c[..., 0]], axis=-1)  # i·c
    cm = tf.reshape(tf.stack([c, j], axis=1), [tf.shape(c)[0], 2, 2 * c.shape[1]])
    out = tf.matmul(a, cm)  # (B, m, 2n): row i holds a_i ⊗ c
    return tf.reshape(out, [tf.shape(out)[0], a.shape[1] * c.shape[1], 2])
