"""The structure of a statevector simulation, planned once per circuit.

:class:`~tfq_ssl.quantum.statevector.StatevectorAutodiff` turns a circuit's gates
into a program in three steps, all plain Python on gate lists:

* :func:`split_leading`: each qubit's single-qubit gates before its first
  multi-qubit gate (folded into a product state, so data loading costs nothing);
* :func:`fuse`: the rest, in circuit order, into blocks of at most ``block_qubits``;
* :func:`plan`: the program over product-state clusters (merges, transposes,
  blocks) and each block's basis.
"""

from __future__ import annotations

import dataclasses

from tfq_ssl.quantum import statevector_ops as ops
from tfq_ssl.quantum.circuit_compiler import Gate


@dataclasses.dataclass(frozen=True)
class Plan:
    """A planned run: the program's steps, every cluster's qubit order (by cluster id),
    the clusters alive at the end (largest first) and the blocks the steps index."""

    program: list[tuple]
    layouts: list[tuple[int, ...]]
    final_clusters: list[int]
    blocks: list[ops.Block]


def split_leading(gates: list[Gate], width: int
                  ) -> tuple[list[list[Gate]], list[Gate]]:
    """Per-qubit single-qubit gates before the qubit's first multi-qubit gate."""
    leading: list[list[Gate]] = [[] for _ in range(width)]
    touched = [False] * width
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

def fuse(body: list[Gate], width: int, block_qubits: int) -> list[ops.Block]:
    """Group gates, in circuit order, into blocks of at most ``block_qubits``.

    A single-qubit gate commutes with everything up to the next gate on its
    qubit, so it waits ("pending") and joins the block of that gate; leftovers
    at the end join the last block that touched their qubit. A run of fixed
    signed-permutation gates (CNOT, CZ, X, Z) too wide for one block, such as the
    CNOT ladder of the all-to-all ansatz, becomes one basis permutation.
    """
    limit = block_qubits
    blocks: list[ops.Block] = []
    pending: dict[int, list[Gate]] = {q: [] for q in range(width)}
    last_block: dict[int, int] = {}
    current: int | None = None

    def place(gates: list[Gate], qubits: set[int]) -> None:
        nonlocal current
        if current is not None and len(blocks[current].qubits | qubits) <= limit:
            blocks[current].gates.extend(gates)
            blocks[current].qubits |= qubits
        else:
            blocks.append(ops.Block(list(gates), set(qubits), "shared"))
            current = len(blocks) - 1
        for q in qubits:
            last_block[q] = current

    def barrier(gates: list[Gate], kind: str) -> None:
        """A step that does not fuse: flush pending gates on its qubits first."""
        nonlocal current
        qubits = {q for g in gates for q in g.qubits}
        for q in sorted(qubits):
            if pending[q]:
                place(pending[q], {q})
                pending[q] = []
        blocks.append(ops.Block(list(gates), qubits, kind))
        current = None
        for q in qubits:
            last_block[q] = len(blocks) - 1

    i = 0
    while i < len(body):
        j = i
        while j < len(body) and ops.signed_permutation(body[j]):
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

def plan(blocks: list[ops.Block], width: int, block_qubits: int) -> Plan:
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
    layouts: list[tuple[int, ...]] = [(q,) for q in range(width)]
    owner = list(range(width))
    alive = set(range(width))
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
                    program.append(("transpose", big) + ops.merged_transpose(old, new))
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
        wide = layout[n - min(block_qubits, n) :]
        if set(layout[n - k :]) == block.qubits:
            block.local = layout[n - k :]
        elif block.kind == "shared" and block.qubits <= set(wide):
            block.local = wide
        else:
            block.local = tuple(q for q in layout if q in block.qubits)
            new = tuple(q for q in layout if q not in block.qubits) + block.local
            program.append(("transpose", cid) + ops.merged_transpose(layout, new))
            layouts[cid] = new
        program.append(("block", cid, b))
    return Plan(program, layouts, sorted(alive, key=lambda c: -len(layouts[c])), blocks)
