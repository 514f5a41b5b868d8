"""Batched, differentiable statevector simulation of tfq-ssl circuits in plain TensorFlow.

The representation network of the paper (Jaderberg et al., "Quantum Self-Supervised
Learning", Sec. 3.2, Fig. 2) is angle data loading followed by an ansatz whose angles
are shared by the whole batch. :class:`StatevectorSimulator` compiles such a Cirq
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

Performance (``python -m bench.simulate``): for the paper's W = 8, two-layer ring and
batch 512, forward+backward takes ~15 ms on 2 CPU cores against ~250 ms for
``tfq.layers.Expectation`` with the adjoint differentiator.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf

from tfq_ssl import circuits as circuits_lib
from tfq_ssl.checks import check_positive_int

__all__ = ["StatevectorSimulator", "SampledExpectationZ", "SUPPORTED_GATES"]

SUPPORTED_GATES = (
    "cirq.Rx / cirq.Ry / cirq.Rz (angle: float or affine sympy expression of the symbols)",
    "XPowGate / YPowGate / ZPowGate (numeric exponent; symbolic only with global_shift=-0.5)",
    "HPowGate, CZPowGate, CXPowGate (numeric exponent; cirq.H, cirq.CZ, cirq.CNOT)",
    "IdentityGate",
    "singly controlled (control value 1) versions of the single-qubit gates above",
)

# Rotation R_P(a) = cos(a/2)·I + sin(a/2)·(-i P); these are the (-i P) matrices.
_ROTATION_GENERATORS = {
    "x": np.array([[0, -1j], [-1j, 0]]),
    "y": np.array([[0, -1], [1, 0]], dtype=complex),
    "z": np.array([[-1j, 0], [0, 1j]]),
}
_ROTATION_TYPES = ((cirq.Rx, "x"), (cirq.Ry, "y"), (cirq.Rz, "z"))
_POW_TYPES = ((cirq.XPowGate, "x"), (cirq.YPowGate, "y"), (cirq.ZPowGate, "z"))
_FIXED_SINGLE = (cirq.XPowGate, cirq.YPowGate, cirq.ZPowGate, cirq.HPowGate)
_FIXED_TWO = (cirq.CZPowGate, cirq.CXPowGate)
_DEFAULT_BLOCK_QUBITS = 5
_READOUT_TABLE_QUBITS = 10  # ⟨Z⟩ by a (2**(n+1), n) matmul up to this many qubits


# ----------------------------------------------------------------------------------
# Compile-time description of the circuit
# ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Rotation:
    """An angle a = inputs·a_in + weights·a_w + bias of a rotation about ``axis``."""

    axis: str
    a_in: np.ndarray  # (n_inputs,)
    a_w: np.ndarray  # (n_weights,)
    bias: float

    @property
    def per_row(self) -> bool:
        return bool(np.any(self.a_in != 0))


@dataclasses.dataclass
class _Gate:
    """One gate: qubit indices plus a template of its 2**a x 2**a matrix.

    ``slots[i, j] >= 0`` means entry (i, j) is entry ``slots[i, j]`` (row-major index
    into the 2x2 matrix) of rotation ``rotation``; otherwise it is ``const[i, j]``.
    """

    qubits: tuple[int, ...]
    const: np.ndarray
    slots: np.ndarray
    rotation: int | None  # index into the simulator's rotation list
    per_row: bool


@dataclasses.dataclass
class _Block:
    """A step on the state: a fused unitary, one per-row gate, or a basis permutation."""

    gates: list[_Gate]
    qubits: set[int]
    kind: str  # "shared" (weights only), "row" (per-row angle) or "permutation"
    local: tuple[int, ...] = ()  # qubit order of the block's basis (planned later)

    @property
    def per_row(self) -> bool:
        return self.kind == "row"


def _signed_permutation(gate: _Gate) -> bool:
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


def _linear_form(
    expr, symbol_index: dict[sympy.Symbol, int], n_symbols: int, what: str
) -> tuple[np.ndarray, float]:
    """Coefficients and constant of an affine expression in the known symbols."""
    if isinstance(expr, numbers.Number):
        return np.zeros(n_symbols), float(expr)
    expr = sympy.sympify(expr)
    unknown = expr.free_symbols - set(symbol_index)
    if unknown:
        names = sorted(str(s) for s in unknown)
        raise ValueError(
            f"{what} uses symbols {names} that are in neither input_symbols nor "
            "weight_symbols; pass every circuit symbol in one of the two lists."
        )
    coeffs = np.zeros(n_symbols)
    for symbol in expr.free_symbols:
        derivative = sympy.diff(expr, symbol)
        if derivative.free_symbols:
            raise ValueError(
                f"{what} has angle {expr}, which is not affine in its symbols "
                "(e.g. 2*x_00 + 0.5); only affine angles can be compiled."
            )
        coeffs[symbol_index[symbol]] = float(derivative)
    constant = float(expr.subs({s: 0 for s in expr.free_symbols}))
    return coeffs, constant


class _Compiler:
    """Turns Cirq operations into :class:`_Gate` templates and :class:`_Rotation` s."""

    def __init__(self, qubit_index, symbol_index, n_inputs, n_weights):
        self.qubit_index = qubit_index
        self.symbol_index = symbol_index
        self.n_inputs = n_inputs
        self.n_weights = n_weights
        self.rotations: list[_Rotation] = []

    def _rotation(self, axis: str, rads, op: cirq.Operation) -> _Rotation:
        coeffs, bias = _linear_form(
            rads, self.symbol_index, self.n_inputs + self.n_weights, f"operation {op!r}"
        )
        return _Rotation(axis, coeffs[: self.n_inputs], coeffs[self.n_inputs :], bias)

    def _single(self, gate: cirq.Gate, op: cirq.Operation):
        """(rotation or None, 2x2 constant) for a supported single-qubit gate."""
        for gate_type, axis in _ROTATION_TYPES:
            if isinstance(gate, gate_type):
                rads = gate._rads  # the angle as given to cirq.rx, symbolic or not
                if cirq.is_parameterized(gate):
                    return self._rotation(axis, rads, op), None
                return None, cirq.unitary(gate)
        if isinstance(gate, _FIXED_SINGLE) and not cirq.is_parameterized(gate):
            return None, cirq.unitary(gate)
        for gate_type, axis in _POW_TYPES:
            if isinstance(gate, gate_type) and gate.global_shift == -0.5:
                return self._rotation(axis, gate.exponent * sympy.pi, op), None
        if isinstance(gate, cirq.IdentityGate) and gate.num_qubits() == 1:
            return None, np.eye(2, dtype=complex)
        if isinstance(gate, _FIXED_SINGLE):
            raise ValueError(
                f"gate {gate!r} in operation {op!r} has a symbolic exponent with "
                f"global_shift={gate.global_shift}; only rotations are supported with "
                "symbols: use cirq.rx / cirq.ry / cirq.rz."
            )
        raise ValueError(self._unsupported(gate, op))

    @staticmethod
    def _unsupported(gate, op) -> str:
        return (
            f"unsupported gate {gate!r} in operation {op!r}; StatevectorSimulator "
            f"compiles only: {'; '.join(SUPPORTED_GATES)}."
        )

    def _add_rotation(self, rotation: _Rotation) -> int:
        self.rotations.append(rotation)
        return len(self.rotations) - 1

    def gate(self, op: cirq.Operation) -> _Gate:
        qubits = tuple(self.qubit_index[q] for q in op.qubits)
        gate = op.gate
        controls = None
        if isinstance(op, cirq.ControlledOperation):
            controls, sub_op = op.controls, op.sub_operation
            control_values, sub_gate = op.control_values, sub_op.gate
        elif isinstance(gate, cirq.ControlledGate):
            controls = op.qubits[: gate.num_controls()]
            control_values, sub_gate = gate.control_values, gate.sub_gate
        if controls is not None:
            if (
                len(controls) != 1
                or sub_gate is None
                or sub_gate.num_qubits() != 1
                or list(control_values.expand()) != [(1,)]
            ):
                raise ValueError(
                    f"unsupported controlled operation {op!r}; only a single control "
                    "qubit with control value 1 on a single-qubit gate is supported."
                )
            rotation, matrix = self._single(sub_gate, op)
            const = np.eye(4, dtype=complex)
            slots = -np.ones((4, 4), dtype=np.int64)
            if rotation is None:
                const[2:, 2:] = matrix
                return _Gate(qubits, const, slots, None, False)
            const[2:, 2:] = 0
            slots[2:, 2:] = np.arange(4).reshape(2, 2)
            index = self._add_rotation(rotation)
            return _Gate(qubits, const, slots, index, rotation.per_row)
        if gate is None:
            raise ValueError(self._unsupported(gate, op))
        if len(qubits) == 1:
            rotation, matrix = self._single(gate, op)
            if rotation is None:
                return _Gate(qubits, matrix, -np.ones((2, 2), np.int64), None, False)
            index = self._add_rotation(rotation)
            slots = np.arange(4).reshape(2, 2)
            return _Gate(qubits, np.zeros((2, 2), complex), slots, index, rotation.per_row)
        if isinstance(gate, _FIXED_TWO) and len(qubits) == 2:
            if cirq.is_parameterized(gate):
                raise ValueError(
                    f"gate {gate!r} in operation {op!r} has a symbolic exponent; only "
                    "numeric two-qubit gates are supported (parametrise a controlled "
                    "rotation instead, e.g. cirq.rx(s).on(t).controlled_by(c))."
                )
            return _Gate(qubits, cirq.unitary(gate), -np.ones((4, 4), np.int64), None, False)
        if isinstance(gate, cirq.IdentityGate):
            return _Gate(qubits, np.eye(2 ** len(qubits), dtype=complex),
                         -np.ones((2 ** len(qubits),) * 2, np.int64), None, False)
        raise ValueError(self._unsupported(gate, op))


def _bit(x: np.ndarray, position: int, width: int) -> np.ndarray:
    """Bit of ``x`` for qubit ``position`` in a big-endian register of ``width``."""
    return (x >> (width - 1 - position)) & 1


def _merged_transpose(old: Sequence[int], new: Sequence[int]):
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


def _validate_circuit_args(circuit, qubits, input_symbols, weight_symbols, dtype):
    """Checked (qubits, input_symbols, weight_symbols, dtype) of a simulator."""
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise TypeError(f"circuit must be a cirq.Circuit, got {type(circuit).__name__}.")
    qubits = list(qubits)
    if not qubits:
        raise ValueError("qubits must hold at least one qubit, got an empty sequence.")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"qubits must be distinct, got {qubits}.")
    missing = sorted(set(circuit.all_qubits()) - set(qubits))
    if missing:
        raise ValueError(
            f"circuit acts on qubits {missing} that are not in qubits; pass the "
            "whole register (e.g. the qubits returned by representation_circuit)."
        )
    input_symbols, weight_symbols = list(input_symbols), list(weight_symbols)
    for name, symbols in (("input_symbols", input_symbols), ("weight_symbols", weight_symbols)):
        bad = [s for s in symbols if not isinstance(s, sympy.Symbol)]
        if bad:
            raise TypeError(f"{name} must hold sympy.Symbol objects, got {bad!r}.")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"{name} contains repeated symbols: {symbols}.")
    shared = sorted(str(s) for s in set(input_symbols) & set(weight_symbols))
    if shared:
        raise ValueError(
            f"symbols {shared} are in both input_symbols and weight_symbols; each "
            "symbol is either a per-row input or a shared weight."
        )
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.complex64, tf.complex128):
        raise ValueError(f"dtype must be tf.complex64 or tf.complex128, got {dtype.name}.")
    return qubits, input_symbols, weight_symbols, dtype


def _check_run_args(inputs, weights, n_inputs: int, n_weights: int, real_dtype):
    """``inputs`` (B, n_inputs) and ``weights`` (n_weights,) cast to ``real_dtype``."""
    inputs = tf.convert_to_tensor(inputs)
    weights = tf.convert_to_tensor(weights)
    if inputs.shape.rank is not None and (
        inputs.shape.rank != 2
        or (inputs.shape[1] is not None and inputs.shape[1] != n_inputs)
    ):
        raise ValueError(
            f"inputs must have shape (batch, {n_inputs}) (one column per "
            f"input symbol), got {inputs.shape}."
        )
    if weights.shape.rank is not None and weights.shape != (n_weights,):
        raise ValueError(
            f"weights must have shape ({n_weights},) (one entry per weight "
            f"symbol), got {weights.shape}."
        )
    if not (inputs.dtype.is_floating and weights.dtype.is_floating):
        raise TypeError(
            f"inputs and weights must be floating point, got {inputs.dtype.name} "
            f"and {weights.dtype.name}."
        )
    return tf.cast(inputs, real_dtype), tf.cast(weights, real_dtype)


class _CircuitSimulator:
    """Set-up shared by the simulators: checked arguments and the gate compiler."""

    def _setup(self, circuit, qubits, input_symbols, weight_symbols, dtype) -> _Compiler:
        """Store the checked register, symbols and dtypes; return a compiler for them."""
        qubits, input_symbols, weight_symbols, dtype = _validate_circuit_args(
            circuit, qubits, input_symbols, weight_symbols, dtype
        )
        self.qubits = qubits
        self.input_symbols = input_symbols
        self.weight_symbols = weight_symbols
        self.dtype = dtype
        self.real_dtype = dtype.real_dtype
        self.width = len(qubits)
        self.n_inputs = len(input_symbols)
        self.n_weights = len(weight_symbols)
        return _Compiler(
            {q: i for i, q in enumerate(qubits)},
            {s: i for i, s in enumerate(input_symbols + weight_symbols)},
            self.n_inputs,
            self.n_weights,
        )

    def _check_args(self, inputs, weights):
        return _check_run_args(inputs, weights, self.n_inputs, self.n_weights, self.real_dtype)


# ----------------------------------------------------------------------------------
# The simulator
# ----------------------------------------------------------------------------------


class StatevectorSimulator(_CircuitSimulator):
    """Exact batched statevector simulator for the circuits of :mod:`tfq_ssl.circuits`.

    The Cirq circuit stays the single source of truth: it is compiled once, at
    construction, into index tables and constants; each call runs only TensorFlow ops
    (no NumPy, no data-dependent Python control flow), so it traces into
    ``tf.function``, compiles with XLA and runs on GPU. Gradients reach ``inputs`` and
    ``weights`` through ordinary TF autodiff.

    Input-symbol angles vary per batch row (the data-loading angles of the paper's
    Fig. 2); weight-symbol angles are shared by the batch (the ansatz). Each gate
    angle may be any affine expression of the symbols, e.g. ``-theta_05/2`` in
    :func:`tfq_ssl.circuits.decompose_controlled_rotations`.

    Example:
        >>> circuit, qubits, xs, ws = circuits.representation_circuit(8, 2, "ring")
        >>> sim = StatevectorSimulator(circuit, qubits, xs, ws)
        >>> sim.expectation_z(angles, weights)  # (B, 8) float32, <Z_k> per qubit

    Args:
        circuit: a circuit made of the gates in :data:`SUPPORTED_GATES`.
        qubits: the register, most significant qubit first (as Cirq and TFQ order
            amplitudes); it must contain every qubit of ``circuit``.
        input_symbols: per-row symbols, in the column order of ``inputs``.
        weight_symbols: shared symbols, in the order of ``weights``.
        dtype: ``tf.complex64`` (float32 in/out) or ``tf.complex128`` (float64).
        block_qubits: largest number of qubits a fused block acts on (>= 2; default
            5). Larger blocks mean fewer but heavier matmuls; 5 was fastest on CPU
            at both W = 8 (op overhead dominates) and W = 16 (arithmetic dominates).

    Note:
        Cost is about 3 matmuls of (B·2**W / 2**k, 2**(k+1)) x (2**(k+1), 2**(k+1))
        per fused block (forward and both gradients), plus the transposes between
        them; autodiff keeps each block's input, so memory is roughly (number of
        blocks) x B x 2**W x 8 bytes in float32. At W = 20 use a small batch.
        ``tf.function(jit_compile=True)`` works and speeds up small registers
        (W <= 10) on CPU; for W >= 14 plain ``tf.function`` was faster.

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
        self._leading, body = self._split_leading(gates)
        self._plan(self._fuse(body))
        self._build_tables()

    # -- compile: structure -------------------------------------------------------

    def _split_leading(self, gates: list[_Gate]):
        """Per-qubit single-qubit gates before the qubit's first multi-qubit gate."""
        leading: list[list[_Gate]] = [[] for _ in range(self.width)]
        touched = [False] * self.width
        body = []
        for gate in gates:
            if len(gate.qubits) == 1 and not touched[gate.qubits[0]]:
                leading[gate.qubits[0]].append(gate)
                continue
            if len(gate.qubits) > 1:
                for q in gate.qubits:
                    touched[q] = True
            body.append(gate)
        return leading, body

    def _fuse(self, body: list[_Gate]) -> list[_Block]:
        """Group gates, in circuit order, into blocks of at most ``block_qubits``.

        A single-qubit gate commutes with everything up to the next gate on its
        qubit, so it waits ("pending") and joins the block of that gate; leftovers
        at the end join the last block that touched their qubit. A run of fixed
        signed-permutation gates (CNOT, CZ, X, Z) too wide for one block, such as the
        CNOT ladder of the all-to-all ansatz, becomes one basis permutation.
        """
        limit = self.block_qubits
        blocks: list[_Block] = []
        pending: dict[int, list[_Gate]] = {q: [] for q in range(self.width)}
        last_block: dict[int, int] = {}
        current: int | None = None

        def place(gates: list[_Gate], qubits: set[int]) -> None:
            nonlocal current
            if current is not None and len(blocks[current].qubits | qubits) <= limit:
                blocks[current].gates.extend(gates)
                blocks[current].qubits |= qubits
            else:
                blocks.append(_Block(list(gates), set(qubits), "shared"))
                current = len(blocks) - 1
            for q in qubits:
                last_block[q] = current

        def barrier(gates: list[_Gate], kind: str) -> None:
            """A step that does not fuse: flush pending gates on its qubits first."""
            nonlocal current
            qubits = {q for g in gates for q in g.qubits}
            for q in sorted(qubits):
                if pending[q]:
                    place(pending[q], {q})
                    pending[q] = []
            blocks.append(_Block(list(gates), qubits, kind))
            current = None
            for q in qubits:
                last_block[q] = len(blocks) - 1

        i = 0
        while i < len(body):
            j = i
            while j < len(body) and _signed_permutation(body[j]):
                j += 1
            run = body[i:j]
            if len(run) > 1 and len({q for g in run for q in g.qubits}) > limit:
                barrier(run, "permutation")
                i = j
                continue
            gate = body[i]
            i += 1
            if gate.per_row:
                barrier([gate], "row")
            elif len(gate.qubits) == 1:
                pending[gate.qubits[0]].append(gate)
            else:
                prefix = [g for q in gate.qubits for g in pending[q]]
                for q in gate.qubits:
                    pending[q] = []
                place(prefix + [gate], set(gate.qubits))
        for q, gates in pending.items():
            if not gates:
                continue
            owner = blocks[last_block[q]]
            if owner.kind == "shared":
                owner.gates.extend(gates)
            else:
                place(gates, {q})
        return blocks

    def _plan(self, blocks: list[_Block]) -> None:
        """Plan the run: which product-state clusters merge, transposes, block bases.

        The state is kept as a set of *clusters*: tensors over disjoint groups of
        qubits whose joint state is their Kronecker product. Every qubit starts in its
        own cluster (its leading gates already applied). A block first merges the
        clusters of its qubits, so along a chain of gates the entangled part grows
        gradually and the full 2**W state is formed only when needed. Inside a
        cluster the qubit order (layout) is tracked; a block whose qubits are the
        trailing axes is applied in place, otherwise one transpose moves them to the
        end. A weight-only block whose qubits all lie in the cluster's trailing
        ``block_qubits`` axes is widened to those axes instead of transposing.
        """
        layouts: list[tuple[int, ...]] = [(q,) for q in range(self.width)]
        owner = list(range(self.width))
        alive = set(range(self.width))
        program = []
        for b, block in enumerate(blocks):
            cids = list(dict.fromkeys(owner[q] for q in sorted(block.qubits)))
            if len(cids) > 1:
                big = max(cids, key=lambda c: len(layouts[c]))
                sources = [big] + [c for c in cids if c != big]
                if block.kind != "permutation" and all(
                    set(layouts[c]) <= block.qubits for c in sources[1:]
                ):
                    # Transposing the big cluster before the merge is cheaper than
                    # transposing the merged one after it.
                    old = layouts[big]
                    new = tuple(q for q in old if q not in block.qubits) + tuple(
                        q for q in old if q in block.qubits
                    )
                    if new != old:
                        program.append(("transpose", big) + _merged_transpose(old, new))
                        layouts[big] = new
                layouts.append(tuple(q for c in sources for q in layouts[c]))
                cid = len(layouts) - 1
                for c in sources:
                    alive.discard(c)
                alive.add(cid)
                for q in layouts[cid]:
                    owner[q] = cid
                program.append(("merge", cid, tuple(sources)))
            cid = owner[next(iter(block.qubits))]
            layout = layouts[cid]
            if block.kind == "permutation":
                block.local = layout
                program.append(("permutation", cid, b))
                continue
            n, k = len(layout), len(block.qubits)
            wide = layout[n - min(self.block_qubits, n) :]
            if set(layout[n - k :]) == block.qubits:
                block.local = layout[n - k :]
            elif block.kind == "shared" and block.qubits <= set(wide):
                block.local = wide
            else:
                block.local = tuple(q for q in layout if q in block.qubits)
                new = tuple(q for q in layout if q not in block.qubits) + block.local
                program.append(("transpose", cid) + _merged_transpose(layout, new))
                layouts[cid] = new
            program.append(("block", cid, b))
        self._program = program
        self._layouts = layouts
        self._final_clusters = sorted(alive, key=lambda c: -len(layouts[c]))
        self._blocks = blocks

    # -- compile: tables ------------------------------------------------------------

    def _build_tables(self) -> None:
        rotations = self._rotations
        shared = [r for r, rot in enumerate(rotations) if not rot.per_row]
        row = [r for r, rot in enumerate(rotations) if rot.per_row]
        shared_pos = {r: i for i, r in enumerate(shared)}
        row_pos = {r: i for i, r in enumerate(row)}
        self._has_row = bool(row)

        def stack(attr, ids, n):
            if not ids:
                return np.zeros((0, n))
            return np.stack([getattr(rotations[r], attr) for r in ids])

        def generators(ids):
            return np.array(
                [_ROTATION_GENERATORS[rotations[r].axis].reshape(4) for r in ids]
            ).reshape(len(ids), 4)

        self._shared_aw = stack("a_w", shared, self.n_weights)
        self._shared_bias = np.array([rotations[r].bias for r in shared])
        self._shared_gen = generators(shared)
        self._row_ain = stack("a_in", row, self.n_inputs)
        self._row_aw = stack("a_w", row, self.n_weights)
        self._row_bias = np.array([rotations[r].bias for r in row])
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

        def template(gate: _Gate, in_row: bool) -> np.ndarray:
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
                self._row_tables[b] = _embed(index, gate.qubits, block.local, zero)

        self._permutations = {
            b: _basis_permutation(block.gates, block.local)
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
                    position = _bit_reverse(j, levels)
                    if position >= len(block.gates):
                        const[i, j] = np.eye(d)
                        continue
                    gate = block.gates[position]
                    param = gate.slots >= 0
                    const[i, j] = _embed(np.where(param, 0, gate.const), gate.qubits, block.local)
                    if gate.rotation is None:
                        continue
                    generator = _ROTATION_GENERATORS[rotations[gate.rotation].axis].reshape(4)
                    slots = np.where(param, gate.slots, 0)
                    where = (gate.qubits, block.local)
                    cos_part[i, j] = _embed(np.where(param, eye4[slots], 0), *where)
                    sin_part[i, j] = _embed(np.where(param, generator[slots], 0), *where)
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
            half = 0.5 * (
                tf.linalg.matvec(tf.constant(self._shared_aw, rdt), weights)
                + tf.constant(self._shared_bias, rdt)
            )
            cos_s, sin_s = tf.cos(half), tf.sin(half)
            re, im = self._entries(cos_s, sin_s, self._shared_gen)
            p_re, p_im = tf.concat([re, const_re], 0), tf.concat([im, const_im], 0)
        row_p = None
        if self._has_row:
            half = 0.5 * (
                tf.matmul(inputs, tf.constant(self._row_ain.T, rdt))
                + tf.linalg.matvec(tf.constant(self._row_aw, rdt), weights)
                + tf.constant(self._row_bias, rdt)
            )
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
            cos = tf.cast(tf.gather(cos_all, index), dt)[..., None, None]
            sin = tf.cast(tf.gather(sin_all, index), dt)[..., None, None]
            g = (
                tf.constant(const, dt)
                + cos * tf.constant(cos_part, dt)
                + sin * tf.constant(sin_part, dt)
            )
            for _ in range(levels):
                earlier, later = tf.split(g, 2, axis=1)
                g = tf.matmul(later, earlier)
            real = _realify(g[:, 0])
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
                    small = _kron(small, clusters.pop(c))
                clusters[cid] = _kron(clusters.pop(big), small)
            elif kind == "transpose":
                view, perm = step[2], step[3]
                tensor = tf.reshape(clusters[cid], (-1,) + view + (2,))
                tensor = tf.transpose(tensor, perm + (len(perm),))
                clusters[cid] = tf.reshape(tensor, shape(cid, tensor))
            elif kind == "permutation":
                source, inverse, signs = self._permutations[step[2]]
                tensor = _permute(clusters[cid], source, inverse)
                if signs is not None:
                    tensor = tensor * tf.constant(signs[:, None], self.real_dtype)
                clusters[cid] = tensor
            else:
                block = self._blocks[step[2]]
                tensor = clusters[cid]
                d2 = 2 ** (len(block.local) + 1)
                if block.per_row:
                    u = _realify(self._gather(row_p, self._row_tables[step[2]], True))
                    tensor = tf.matmul(tf.reshape(tensor, shape(cid, tensor, d2)), u)
                    clusters[cid] = tf.reshape(tensor, shape(cid, tensor))
                else:
                    out = tf.matmul(tf.reshape(tensor, [-1, d2]), matrices[step[2]])
                    clusters[cid] = tf.reshape(out, shape(cid, tensor))
        return clusters, batch

    def state(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Final statevectors, one per batch row.

        Args:
            inputs: (B, n_inputs) float, values of ``input_symbols``.
            weights: (n_weights,) float, values of ``weight_symbols``.

        Returns:
            (B, 2**W) complex of ``dtype``, big-endian: ``qubits[0]`` is the most
            significant bit, as in ``cirq.final_state_vector`` and ``tfq.layers.State``.
        """
        inputs, weights = self._check_args(inputs, weights)
        clusters, batch = self._run(inputs, weights)
        order = self._final_clusters
        state = clusters[order[0]]
        for c in order[1:]:
            state = _kron(state, clusters[c])
        layout = tuple(q for c in order for q in self._layouts[c])
        canonical = tuple(range(self.width))
        if layout != canonical:
            view, perm = _merged_transpose(layout, canonical)
            state = tf.transpose(tf.reshape(state, (-1,) + view + (2,)), perm + (len(perm),))
        state = tf.reshape(state, [-1, 2**self.width, 2])
        state = tf.broadcast_to(state, [batch, 2**self.width, 2])
        return tf.complex(state[..., 0], state[..., 1])

    def expectation_z(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """⟨Z_k⟩ on every qubit: the representation read-out of the paper's Fig. 2.

        Args:
            inputs: (B, n_inputs) float, values of ``input_symbols``.
            weights: (n_weights,) float, values of ``weight_symbols``.

        Returns:
            (B, W) float32 (float64 for ``tf.complex128``), column k for ``qubits[k]``.
        """
        inputs, weights = self._check_args(inputs, weights)
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


def _bit_reverse(value: int, bits: int) -> int:
    return int(format(value, f"0{bits}b")[::-1], 2) if bits else 0


def _embed(matrix: np.ndarray, qubits: Sequence[int], local: Sequence[int], fill=0) -> np.ndarray:
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
            same &= _bit(r, p, k) == _bit(c, p, k)
    gr = sum(_bit(r, p, k) << (a - 1 - i) for i, p in enumerate(positions))
    gc = sum(_bit(c, p, k) << (a - 1 - i) for i, p in enumerate(positions))
    gr, gc = np.broadcast_arrays(gr, gc)
    return np.where(same, matrix[gr, gc], fill)


def _basis_permutation(gates: list[_Gate], layout: tuple[int, ...]):
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


def _permute(tensor: tf.Tensor, source: np.ndarray, inverse: np.ndarray) -> tf.Tensor:
    """Gather along the basis axis; the gradient is the inverse gather (no scatter)."""

    @tf.custom_gradient
    def permute(x):
        def grad(dy):
            return tf.gather(dy, tf.constant(inverse), axis=1)

        return tf.gather(x, tf.constant(source), axis=1), grad

    return permute(tensor)


def _realify(u: tf.Tensor) -> tf.Tensor:
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


def _kron(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """Kronecker product of two real-stored states (B|1, m, 2) ⊗ (B|1, n, 2)."""
    j = tf.stack([-c[..., 1], c[..., 0]], axis=-1)  # i·c
    cm = tf.reshape(tf.stack([c, j], axis=1), [tf.shape(c)[0], 2, 2 * c.shape[1]])
    out = tf.matmul(a, cm)  # (B, m, 2n): row i holds a_i ⊗ c
    return tf.reshape(out, [tf.shape(out)[0], a.shape[1] * c.shape[1], 2])


# ----------------------------------------------------------------------------------
# Shot-based expectations with sampled parameter-shift gradients
# ----------------------------------------------------------------------------------

# Default memory budget of one shifted-circuit evaluation, in stored amplitudes
# (rows x 2**W); 2**25 is 256 MiB of complex64 state per intermediate tensor.
_SHIFT_AMPLITUDE_BUDGET = 2**25


class SampledExpectationZ:
    """N-shot estimates of ⟨Z_k⟩ with sampled parameter-shift gradients.

    The statistics of TFQ's ``SampledExpectation`` op differentiated by its
    ``ParameterShift`` (the paper's 100-shot experiment), computed from exact
    statevectors of :class:`StatevectorSimulator` instead of sampled bitstrings:

    * **Forward.** For every row and qubit k the number of +1 outcomes is drawn from
      Binomial(N, (1 + ⟨Z_k⟩) / 2) and the estimate is 2·count/N − 1. As in TFQ,
      each operator is estimated from its own N shots.
    * **Backward** (``tf.custom_gradient``). Every gate whose angle depends on a
      symbol (each *occurrence*, e.g. both half-angle RX gates of a decomposed CRX)
      is shifted by ±π/2 and the shifted circuit is itself estimated with N fresh
      shots; the derivative with respect to a symbol is
      Σ_occurrences coefficient · (Ê(+π/2) − Ê(−π/2)) / 2, contracted with the
      upstream gradient dL/d⟨Z_k⟩. It is unbiased because the two-term rule is exact
      for rotations (generator eigenvalues ±1/2), and has the variance of TFQ's
      sampled parameter shift.

    All shifted circuits run batched: a second simulator compiles the circuit with
    every occurrence as its own symbol, so a shift is a change of one angle, and the
    2 × (occurrences) shifted evaluations are vectorised over the shared angles
    (``tf.vectorized_map``), in chunks that keep about ``amplitude_budget``
    amplitudes alive.

    Randomness comes from ``tf.random`` (a stateful draw seeds the stateless
    binomial sampler), so it runs inside ``tf.function`` and follows
    ``tf.random.set_seed`` / ``tf_keras.utils.set_random_seed``. The binomial
    sampler has only a CPU kernel; on a GPU TensorFlow places that one op on the
    CPU (a few MB per step).

    Args:
        circuit: a circuit of :data:`SUPPORTED_GATES` whose symbolic gates are
            uncontrolled rotations (decompose controlled rotations first with
            :func:`tfq_ssl.circuits.decompose_controlled_rotations`).
        qubits, input_symbols, weight_symbols, dtype, block_qubits: as for
            :class:`StatevectorSimulator`.
        shots: measurement shots N per circuit and operator (>= 1).
        amplitude_budget: rows x 2**W evaluated at once in the backward pass.
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        input_symbols: Sequence[sympy.Symbol],
        weight_symbols: Sequence[sympy.Symbol],
        shots: int,
        dtype: tf.DType = tf.complex64,
        block_qubits: int | None = None,
        amplitude_budget: int = _SHIFT_AMPLITUDE_BUDGET,
    ):
        check_positive_int("shots", shots, numpy_ints=True)
        self.shots = int(shots)
        self.amplitude_budget = int(amplitude_budget)
        self.simulator = StatevectorSimulator(
            circuit, qubits, input_symbols, weight_symbols, dtype, block_qubits
        )
        self.width = self.simulator.width
        self.real_dtype = self.simulator.real_dtype
        input_symbols, weight_symbols = list(input_symbols), list(weight_symbols)
        n_in = len(input_symbols)

        occ = circuits_lib.split_symbol_occurrences(circuit, input_symbols + weight_symbols)
        # Two-term rule per occurrence; raises on an undecomposed controlled rotation.
        shifts, terms = occ.shift_terms(four_term=False)
        # Occurrences whose angle varies per row are per-row symbols of the shifted
        # simulator; the others are shared (one value per shifted circuit).
        row = np.any(occ.coefficients[:, :n_in] != 0, axis=1)
        self._row_occ = np.flatnonzero(row)
        self._shared_occ = np.flatnonzero(~row)
        self.shifted_simulator = StatevectorSimulator(
            occ.circuit,
            qubits,
            [occ.symbols[j] for j in self._row_occ],
            [occ.symbols[j] for j in self._shared_occ],
            dtype,
            block_qubits,
        )
        self._coeffs, self._bias = occ.coefficients, occ.bias
        self._n_in = n_in
        # One row per shifted circuit: (occurrence j, +π/2), (j, −π/2), ...; the
        # gradient is Σ_t terms[t] · f(shifted t), terms[t] = ±coefficient / 2.
        self._shift_table = shifts
        self._terms = terms

    @property
    def num_shifted_circuits(self) -> int:
        """Circuits evaluated per batch row in the backward pass (2 per occurrence)."""
        return len(self._shift_table)

    def _occurrence_angles(self, inputs, weights):
        """Per-row angles of the row occurrences (B, n_row), shared ones (n_shared,)."""
        rdt = self.real_dtype
        c_in = tf.constant(self._coeffs[:, : self._n_in], rdt)
        c_w = tf.constant(self._coeffs[:, self._n_in :], rdt)
        shared = tf.linalg.matvec(c_w, weights) + tf.constant(self._bias, rdt)  # (n_occ,)
        row_index = tf.constant(self._row_occ, tf.int32)
        row = tf.matmul(inputs, tf.gather(c_in, row_index), transpose_b=True) + tf.gather(
            shared, row_index
        )
        return row, tf.gather(shared, tf.constant(self._shared_occ, tf.int32))

    def shifted_expectations(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Exact ⟨Z_k⟩ of every shifted circuit: (2·occurrences, B, W).

        Row 2i holds the i-th symbolic gate shifted by +π/2, row 2i + 1 by −π/2.
        """
        inputs, weights = self.simulator._check_args(inputs, weights)
        row, shared = self._occurrence_angles(inputs, weights)
        rdt = self.real_dtype
        table = self._shift_table
        n_groups = len(table)
        if n_groups == 0:
            return tf.zeros([0, tf.shape(inputs)[0], self.width], rdt)
        batch = inputs.shape[0] if inputs.shape[0] is not None else 512
        per_chunk = max(1, self.amplitude_budget // (max(batch, 1) * 2**self.width))
        per_chunk = min(per_chunk, n_groups)
        n_chunks = -(-n_groups // per_chunk)
        padded = np.zeros((n_chunks * per_chunk, table.shape[1]))
        padded[:n_groups] = table
        padded = padded.reshape(n_chunks, per_chunk, table.shape[1])
        row_shift = tf.constant(padded[..., self._row_occ], rdt)
        shared_shift = tf.constant(padded[..., self._shared_occ], rdt)
        sim = self.shifted_simulator

        def group(args):
            d_row, d_shared = args
            return sim.expectation_z(row + d_row, shared + d_shared)

        def chunk(args):
            return tf.vectorized_map(group, args)

        if n_chunks == 1:
            out = chunk((row_shift[0], shared_shift[0]))
        else:
            out = tf.map_fn(
                chunk,
                (row_shift, shared_shift),
                fn_output_signature=tf.TensorSpec([per_chunk, None, self.width], rdt),
            )
            out = tf.reshape(out, [n_chunks * per_chunk, -1, self.width])
        return out[:n_groups]

    def _sample(self, expectations: tf.Tensor) -> tf.Tensor:
        """N-shot estimates of ⟨Z⟩ values: 2·Binomial(N, (1 + ⟨Z⟩)/2)/N − 1."""
        rdt = self.real_dtype
        probs = tf.clip_by_value((1 + expectations) / 2, 0, 1)
        seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        counts = tf.random.stateless_binomial(
            tf.shape(probs), seed, tf.cast(self.shots, rdt), probs, output_dtype=rdt
        )
        return 2 * counts / self.shots - 1

    def __call__(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Sampled ⟨Z_k⟩ (B, W); differentiable by sampled parameter shift.

        Args:
            inputs: (B, n_inputs) float, values of ``input_symbols``.
            weights: (n_weights,) float, values of ``weight_symbols``.
        """
        inputs, weights = self.simulator._check_args(inputs, weights)
        rdt = self.real_dtype
        terms_in = tf.constant(self._terms[:, : self._n_in], rdt)
        terms_w = tf.constant(self._terms[:, self._n_in :], rdt)

        @tf.custom_gradient
        def sampled(x, w):
            out = self._sample(self.simulator.expectation_z(x, w))

            def grad(upstream):
                # Every shifted circuit estimated with its own N fresh shots.
                estimates = self._sample(self.shifted_expectations(x, w))  # (T, B, W)
                contracted = tf.einsum("tbk,bk->tb", estimates, tf.cast(upstream, rdt))
                grad_x = tf.einsum("tb,ti->bi", contracted, terms_in)
                grad_w = tf.einsum("tb,tm->m", contracted, terms_w)
                return grad_x, grad_w

            return out, grad

        return sampled(inputs, weights)
