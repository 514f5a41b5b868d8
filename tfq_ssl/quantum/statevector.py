"""Batched, differentiable statevector simulation of tfq-ssl circuits in plain TensorFlow.

The representation network of the paper (Jaderberg et al., "Quantum Self-Supervised
Learning", Sec. 3.2, Fig. 2) is angle data loading followed by an ansatz whose angles
are shared by the whole batch. :class:`StatevectorAutodiff` compiles such a Cirq
circuit once into a short TensorFlow program; TF autodiff then gives exact gradients
with respect to both the per-row input angles and the shared weights, on CPU or GPU,
inside ``tf.function`` (XLA included).

How the program is made fast (everything below is decided once, at construction):

* **Product state.** Every single-qubit gate that acts on a qubit before its first
  multi-qubit gate (the RX data loading, and the first RY layer of both ansatze) is
  folded into a per-qubit 2-vector, so data loading costs nothing on the 2**W state.
* **Clusters.** The state is kept as a Kronecker product of clusters (groups of
  qubits). Every qubit starts alone; a block first merges the clusters of its qubits,
  so along the first ring of CRX gates the entangled part grows 5, 9, 13, ... qubits
  wide and the full 2**W state appears only when it must.
* **Gate fusion.** The remaining gates are fused, in circuit order, into blocks acting
  on at most ``block_qubits`` qubits. Single-qubit gates ride along with the next
  multi-qubit gate on their qubit (or the last one, at the end of the circuit), so a
  ring layer of W RY and W CRX gates becomes about W / (block_qubits - 1) blocks. The
  decomposed controlled rotations (CZ·RX·CZ·RX) fuse back into the same blocks. A run
  of fixed CNOT/CZ/X/Z gates wider than a block (the all-to-all CNOT ladder) becomes
  a single basis permutation (a gather).
* **Few, large ops.** All weight-only block unitaries are assembled together: each
  gate is ``C + cos(a/2)·A + sin(a/2)·S`` with constant matrices already embedded in
  its block's basis, and a log-depth tree of batched matmuls multiplies them. The
  state is stored as real numbers with (re, im) interleaved on the last axis, in a
  tracked qubit order, so applying a block is at most one transpose (bringing its
  qubits last) and one real matmul; ⟨Z_k⟩ is read in the final order.

Gates with an input-symbol angle after a qubit's first multi-qubit gate (data
re-uploading) are supported too: each becomes its own per-row block, applied with a
batched matmul.

Its speed against TFQ is measured by ``python -m bench.simulate`` (bench/README.md).
"""

from __future__ import annotations

from typing import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf

from tfq_ssl.checks import check_positive_int
from tfq_ssl.quantum import statevector_ops as ops
from tfq_ssl.quantum.circuit_compiler import ROTATION_GENERATORS, AngleTable, CircuitEngine, Gate
from tfq_ssl.quantum.statevector_plan import fuse, plan, split_leading

__all__ = ["StatevectorAutodiff"]

_DEFAULT_BLOCK_QUBITS = 5
_READOUT_TABLE_QUBITS = 10  # ⟨Z⟩ by a (2**(n+1), n) matmul up to this many qubits


class StatevectorAutodiff(CircuitEngine):
    """Exact batched statevector simulator for the circuits of :mod:`tfq_ssl.quantum.circuits`.

    The Cirq circuit stays the single source of truth: it is compiled once, at
    construction, into index tables and constants; each call runs only TensorFlow ops
    (no NumPy, no data-dependent Python control flow), so it traces into
    ``tf.function``, compiles with XLA and runs on GPU. Gradients reach ``inputs`` and
    ``weights`` through ordinary TF autodiff.

    Input-symbol angles vary per batch row (the data-loading angles of the paper's
    Fig. 2); weight-symbol angles are shared by the batch (the ansatz). Each gate
    angle may be any affine expression of the symbols, e.g. ``-theta_05/2`` in
    :func:`tfq_ssl.quantum.circuits.decompose_controlled_rotations`.

    Example:
        >>> circuit, qubits, xs, ws = circuits.representation_circuit(8, 2, "ring")
        >>> sim = StatevectorAutodiff(circuit, qubits, xs, ws)
        >>> sim.expectation_z(angles, weights)  # (B, 8) float32, <Z_k> per qubit

    Args:
        circuit: a circuit made of the gates in :data:`SUPPORTED_GATES`.
        qubits: the register, most significant qubit first (as Cirq and TFQ order
            amplitudes); it must contain every qubit of ``circuit``.
        input_symbols: per-row symbols, in the column order of ``inputs``.
        weight_symbols: shared symbols, in the order of ``weights``.
        dtype: ``tf.complex64`` (float32 in/out) or ``tf.complex128`` (float64).
        block_qubits: largest number of qubits a fused block acts on (>= 2; default
            5). Larger blocks mean fewer but heavier matmuls; the default is the
            fastest measured on CPU both where op overhead dominates (W = 8) and
            where arithmetic does (W = 16).

    Note:
        Cost is about 3 matmuls of (B·2**W / 2**k, 2**(k+1)) x (2**(k+1), 2**(k+1))
        per fused block (forward and both gradients), plus the transposes between
        them; autodiff keeps each block's input, so memory is roughly (number of
        blocks) x B x 2**W x 8 bytes in float32. At W = 20 use a small batch.
        ``tf.function(jit_compile=True)`` works; on CPU it pays off for small
        registers only (bench.simulate measures both).

    Raises:
        ValueError: on an unsupported gate (named in the message), a symbol missing
            from both symbol lists, overlapping or repeated symbols or qubits, a
            circuit qubit not in ``qubits``, or a bad ``dtype`` / ``block_qubits``.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
        dtype: tf.DType = tf.complex64,
        block_qubits: int | None = None,
    ):
        compiler = self._setup(circuit, qubits, input_symbols, weight_symbols, dtype)
        if block_qubits is None:
            block_qubits = _DEFAULT_BLOCK_QUBITS
        check_positive_int("block_qubits", block_qubits, minimum=2)
        self.block_qubits = min(block_qubits, max(self.width, 2))

        gates = [compiler.gate(op) for op in circuit.all_operations()]
        self._rotations = compiler.rotations
        self._leading, body = split_leading(gates, self.width)
        planned = plan(fuse(body, self.width, self.block_qubits), self.width, self.block_qubits)
        self._program, self._layouts = planned.program, planned.layouts
        self._final_clusters, self._blocks = planned.final_clusters, planned.blocks
        self._build_tables()

    # -- compile: tables ------------------------------------------------------------

    def _build_tables(self) -> None:
        rotations = self._rotations
        self._angle_table = table = AngleTable.of(rotations, self.n_inputs, self.n_weights)
        shared, row = table.shared, table.row
        shared_pos = {r: i for i, r in enumerate(shared)}
        row_pos = {r: i for i, r in enumerate(row)}

        def generators(ids):
            return np.array(
                [ROTATION_GENERATORS[rotations[r].axis].reshape(4) for r in ids]
            ).reshape(len(ids), 4)

        self._shared_gen = generators(shared)
        self._row_gen = generators(row)

        # Gather tables for the small per-row pieces (leading gates, per-row blocks):
        # P = [4 entries per shared rotation, constants];
        # P_row = [4 entries per row rotation, P] (one per batch row).
        constants: dict[complex, int] = {0j: 0, 1 + 0j: 1}

        def const_index(value) -> int:
            value = complex(value)
            if value not in constants:
                constants[value] = len(constants)
            return constants[value]

        n_shared = 4 * len(shared)

        def template(gate: Gate, in_row: bool) -> np.ndarray:
            offset = 4 * len(row) if in_row else 0
            out = np.empty(gate.const.shape, dtype=np.int64)
            for (i, j), slot in np.ndenumerate(gate.slots):
                if slot < 0:
                    out[i, j] = offset + n_shared + const_index(gate.const[i, j])
                elif rotations[gate.rotation].per_row:
                    out[i, j] = 4 * row_pos[gate.rotation] + slot
                else:
                    out[i, j] = offset + 4 * shared_pos[gate.rotation] + slot
            return out

        def identity_table(in_row: bool) -> np.ndarray:
            base = (4 * len(row) if in_row else 0) + n_shared
            return np.array([[base + 1, base], [base, base + 1]])

        leading = self._leading
        self._leading_row = any(g.per_row for gates in leading for g in gates)
        depth = max((len(g) for g in leading), default=0)
        self._leading_stages = [
            np.stack(
                [
                    template(gates[s], self._leading_row)
                    if s < len(gates)
                    else identity_table(self._leading_row)
                    for gates in leading
                ]
            )
            for s in range(depth)
        ]  # each (W, 2, 2)

        self._row_tables = {}
        for b, block in enumerate(self._blocks):
            if block.per_row:
                gate = block.gates[0]
                index = template(gate, True)
                zero = 4 * len(row) + n_shared + const_index(0)
                self._row_tables[b] = ops.embed(index, gate.qubits, block.local, zero)

        self._permutations = {
            b: ops.basis_permutation(block.gates, block.local)
            for b, block in enumerate(self._blocks)
            if block.kind == "permutation"
        }

        # Weight-only blocks: each gate is C + cos(a/2)·A + sin(a/2)·S in its block's
        # basis (A, S: where cos and sin enter). Stored per block size, in bit-reversed
        # order for the pairwise product tree, padded with identities.
        self._groups = []
        sizes = sorted({len(b.local) for b in self._blocks if b.kind == "shared"})
        eye4 = np.eye(2).reshape(4)
        for k in sizes:
            members = [
                i for i, b in enumerate(self._blocks) if b.kind == "shared" and len(b.local) == k
            ]
            longest = max(len(self._blocks[i].gates) for i in members)
            levels = max(longest - 1, 0).bit_length()
            n_pad = 1 << levels
            d = 2**k
            const = np.zeros((len(members), n_pad, d, d), complex)
            cos_part = np.zeros_like(const)
            sin_part = np.zeros_like(const)
            angle = np.full((len(members), n_pad), len(shared), np.int32)  # dummy: 0
            for i, b in enumerate(members):
                block = self._blocks[b]
                for j in range(n_pad):
                    position = ops.bit_reverse(j, levels)
                    if position >= len(block.gates):
                        const[i, j] = np.eye(d)
                        continue
                    gate = block.gates[position]
                    param = gate.slots >= 0
                    const[i, j] = ops.embed(np.where(param, 0, gate.const), gate.qubits, block.local)
                    if gate.rotation is None:
                        continue
                    generator = ROTATION_GENERATORS[rotations[gate.rotation].axis].reshape(4)
                    slots = np.where(param, gate.slots, 0)
                    where = (gate.qubits, block.local)
                    cos_part[i, j] = ops.embed(np.where(param, eye4[slots], 0), *where)
                    sin_part[i, j] = ops.embed(np.where(param, generator[slots], 0), *where)
                    angle[i, j] = shared_pos[gate.rotation]
            self._groups.append((members, levels, const, cos_part, sin_part, angle))
        self._constants = np.array(list(constants), dtype=complex)

    # -- run ------------------------------------------------------------------------

    def _entries(self, cos, sin, generators):
        """cos·I + sin·G flattened per rotation, as (re, im)."""
        rdt = self.real_dtype
        cos, sin = cos[..., None], sin[..., None]
        re = cos * tf.constant([1.0, 0.0, 0.0, 1.0], rdt) + sin * tf.constant(generators.real, rdt)
        im = sin * tf.constant(generators.imag, rdt)
        shape = tf.concat([tf.shape(cos)[:-2], [-1]], 0)
        return tf.reshape(re, shape), tf.reshape(im, shape)

    def _angles(self, inputs, weights):
        """Half-angle cos/sin of shared rotations, and the small gather vectors."""
        rdt = self.real_dtype
        const_re = tf.constant(self._constants.real, rdt)
        const_im = tf.constant(self._constants.imag, rdt)
        cos_s = sin_s = tf.zeros([0], rdt)
        p_re, p_im = const_re, const_im
        if self._shared_gen.shape[0]:
            half = self._angle_table.shared_half_angles(weights, rdt)
            cos_s, sin_s = tf.cos(half), tf.sin(half)
            re, im = self._entries(cos_s, sin_s, self._shared_gen)
            p_re, p_im = tf.concat([re, const_re], 0), tf.concat([im, const_im], 0)
        row_p = None
        if self._angle_table.row:
            half = self._angle_table.row_half_angles(inputs, weights, rdt)
            re, im = self._entries(tf.cos(half), tf.sin(half), self._row_gen)
            batch = tf.shape(inputs)[0]
            tile = lambda p: tf.broadcast_to(p[None], [batch, tf.shape(p)[0]])  # noqa: E731
            row_p = (tf.concat([re, tile(p_re)], 1), tf.concat([im, tile(p_im)], 1))
        return (cos_s, sin_s), (p_re, p_im), row_p

    def _gather(self, params, table, per_row: bool):
        re, im = params
        axis = 1 if per_row else 0
        table = tf.constant(table, tf.int32)
        return tf.complex(tf.gather(re, table, axis=axis), tf.gather(im, table, axis=axis))

    def _block_matrices(self, cos_sin) -> dict[int, tf.Tensor]:
        """Real (2d, 2d) right-multiplication matrix of every weight-only block."""
        dt, rdt = self.dtype, self.real_dtype
        pad = tf.zeros([1], rdt)
        cos_all, sin_all = (tf.concat([t, pad], 0) for t in cos_sin)
        matrices = {}
        for members, levels, const, cos_part, sin_part, angle in self._groups:
            index = tf.constant(angle)
            # tf.complex, not tf.cast: the same values, and a gradient that takes the
            # real part without logging a warning in every run.
            cos, sin = (tf.gather(t, index) for t in (cos_all, sin_all))
            cos, sin = (tf.complex(t, tf.zeros_like(t))[..., None, None] for t in (cos, sin))
            g = (
                ops.complex_constant(const, dt)
                + cos * ops.complex_constant(cos_part, dt)
                + sin * ops.complex_constant(sin_part, dt)
            )
            for _ in range(levels):
                earlier, later = tf.split(g, 2, axis=1)
                g = tf.matmul(later, earlier)
            real = ops.realify(g[:, 0])
            for b, m in zip(members, tf.unstack(real, num=len(members))):
                matrices[b] = m
        return matrices

    def _leading_clusters(self, p, row_p):
        """One (B or 1, 2, 2) real tensor per qubit: its leading gates applied to |0>."""
        params, per_row = (row_p, True) if self._leading_row else (p, False)
        if self._leading_stages:
            vectors = self._gather(params, self._leading_stages[0][:, :, 0], per_row)
            for table in self._leading_stages[1:]:
                matrices = self._gather(params, table, per_row)
                vectors = tf.reduce_sum(matrices * vectors[..., None, :], axis=-1)
        else:
            vectors = tf.constant([[1, 0]] * self.width, self.dtype)
        if not per_row:
            vectors = vectors[None]
        vectors = tf.stack([tf.math.real(vectors), tf.math.imag(vectors)], axis=-1)
        return tf.unstack(vectors, num=self.width, axis=1)  # W x (B|1, 2, 2)

    def _run(self, inputs, weights):
        """Execute the program; returns {cluster id: (B or 1, 2**n, 2) real tensor}."""
        batch = tf.shape(inputs)[0]
        cos_sin, p, row_p = self._angles(inputs, weights)
        matrices = self._block_matrices(cos_sin)
        clusters = dict(enumerate(self._leading_clusters(p, row_p)))

        def shape(cid, tensor, last=2):
            # Rows are B, or 1 while a cluster has seen no input angle.
            return [tf.shape(tensor)[0], 2 ** (len(self._layouts[cid]) + 1) // last, last]

        for step in self._program:
            kind, cid = step[0], step[1]
            if kind == "merge":
                big, *rest = step[2]
                small = clusters.pop(rest[0])
                for c in rest[1:]:
                    small = ops.kron(small, clusters.pop(c))
                clusters[cid] = ops.kron(clusters.pop(big), small)
            elif kind == "transpose":
                view, perm = step[2], step[3]
                tensor = tf.reshape(clusters[cid], (-1,) + view + (2,))
                tensor = tf.transpose(tensor, perm + (len(perm),))
                clusters[cid] = tf.reshape(tensor, shape(cid, tensor))
            elif kind == "permutation":
                source, inverse, signs = self._permutations[step[2]]
                tensor = ops.permute(clusters[cid], source, inverse)
                if signs is not None:
                    tensor = tensor * tf.constant(signs[:, None], self.real_dtype)
                clusters[cid] = tensor
            else:
                block = self._blocks[step[2]]
                tensor = clusters[cid]
                d2 = 2 ** (len(block.local) + 1)
                if block.per_row:
                    u = ops.realify(self._gather(row_p, self._row_tables[step[2]], True))
                    tensor = tf.matmul(tf.reshape(tensor, shape(cid, tensor, d2)), u)
                    clusters[cid] = tf.reshape(tensor, shape(cid, tensor))
                else:
                    out = tf.matmul(tf.reshape(tensor, [-1, d2]), matrices[step[2]])
                    clusters[cid] = tf.reshape(out, shape(cid, tensor))
        return clusters, batch

    def _state(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        clusters, batch = self._run(inputs, weights)
        order = self._final_clusters
        state = clusters[order[0]]
        for c in order[1:]:
            state = ops.kron(state, clusters[c])
        layout = tuple(q for c in order for q in self._layouts[c])
        canonical = tuple(range(self.width))
        if layout != canonical:
            view, perm = ops.merged_transpose(layout, canonical)
            state = tf.transpose(tf.reshape(state, (-1,) + view + (2,)), perm + (len(perm),))
        state = tf.reshape(state, [-1, 2**self.width, 2])
        state = tf.broadcast_to(state, [batch, 2**self.width, 2])
        return tf.complex(state[..., 0], state[..., 1])

    def _expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        clusters, batch = self._run(inputs, weights)
        columns, order = [], []
        for c in self._final_clusters:
            columns.append(self._readout(clusters[c], len(self._layouts[c])))
            order.extend(self._layouts[c])
        columns = [tf.broadcast_to(v, [batch, tf.shape(v)[1]]) for v in columns]
        values = tf.concat(columns, 1) if len(columns) > 1 else columns[0]
        if order != sorted(order):
            values = tf.gather(values, np.argsort(order), axis=1)
        return values

    def _readout(self, cluster: tf.Tensor, n: int) -> tf.Tensor:
        """⟨Z⟩ of each qubit of a cluster (B|1, 2**n, 2), in the cluster's layout order.

        Leading qubits are peeled off one at a time (⟨Z⟩ = first-half minus
        second-half probability, then the halves are summed), which costs about two
        passes over the probabilities; the last few qubits (and re/im) go through one
        small matmul with a ±1 table.
        """
        rdt = self.real_dtype
        rows = tf.shape(cluster)[0]
        squares = tf.reshape(tf.square(cluster), [rows, 2 ** (n + 1)])  # (re², im²) interleaved
        peeled = []
        while n > _READOUT_TABLE_QUBITS:
            halves = tf.reshape(squares, [rows, 2, 2**n])
            sums = tf.reduce_sum(halves, axis=-1)
            peeled.append(sums[:, :1] - sums[:, 1:])
            squares = tf.reduce_sum(halves, axis=1)
            n -= 1
        bits = (np.arange(2 ** (n + 1))[:, None] >> np.arange(n, 0, -1)[None, :]) & 1
        peeled.append(tf.matmul(squares, tf.constant(1 - 2 * bits, rdt)))
        return tf.concat(peeled, 1) if len(peeled) > 1 else peeled[0]

    @property
    def num_blocks(self) -> int:
        """Number of fused blocks (matmuls on the state) after the product state."""
        return len(self._blocks)

