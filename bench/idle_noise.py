"""What a fake backend's simulation leaves out: the noise of idling qubits.

Qiskit Aer applies a backend's relaxation to a qubit only where its circuit holds a
``delay``. A transpiled circuit has none (a qubit waiting for another's gates simply
waits), so a plain simulation omits the idle noise that a device always adds. The Runtime
Sampler's dynamical decoupling schedules the circuit and fills the waits with pulses
and delays, so a DD run carries idle noise that the plain run never had. Comparing the two
directly then mixes what DD does with what the idle time costs.

This bench measures the mean |⟨Z_k⟩ error| against the exact values of the W = 8, L = 2
ring (random angles in [0, π] and weights in [0, 2π), as bench.recompile) for these arms:
plain; idle (scheduled ALAP with the waits as delays, no DD); XY4 (the Sampler's DD); and
the same three with M3 readout mitigation. Each comparison is paired over the circuits.

Usage: ``python -m bench.idle_noise --backend fake_fez --circuits 20 --shots 400``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from convert import execute
from convert.backends import get_backend
from convert.qiskit_circuits import representation_qiskit_circuit
from convert.transpile import transpile_for
from tfq_ssl import cli, stats
from tfq_ssl.quantum.circuits import representation_circuit

WIDTH, LAYERS = 8, 2  # Fig. 5's ring

ARMS = (("plain", False, {}), ("idle", True, {}), ("XY4", False, {"dd": "XY4"}),
        ("M3", False, {"readout_mitigation": True}),
        ("M3 + idle", True, {"readout_mitigation": True}),
        ("M3 + XY4", False, {"dd": "XY4", "readout_mitigation": True}))
PAIRS = (("idle", "plain", "what idling costs"), ("XY4", "idle", "what DD does"),
         ("M3", "plain", "what M3 does"), ("M3 + XY4", "M3 + idle", "what DD does under M3"))


def with_idle_delays(circuits, backend):
    """The circuits scheduled ALAP on the backend's durations, every wait a ``delay``
    (what DD's scheduling does, without the pulses); layouts kept."""
    from qiskit.transpiler import PassManager  # noqa: PLC0415
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay  # noqa: PLC0415

    pm = PassManager([ALAPScheduleAnalysis(target=backend.target),
                      PadDelay(target=backend.target)])
    out = []
    for circuit in circuits:
        scheduled = pm.run(circuit)
        scheduled._layout = circuit.layout  # the pass manager drops it; the bits map the same
        out.append(scheduled)
    return out


def _main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.idle_noise",
                                description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="fake_fez", help="a fake backend (default fake_fez)")
    parser.add_argument("--circuits", type=cli.positive_int, default=20,
                        help="random W = 8, L = 2 ring circuits (default 20)")
    parser.add_argument("--shots", type=cli.positive_int, default=400)
    parser.add_argument("--seed", type=cli.non_negative_int, default=0)
    args = parser.parse_args(argv)
    if not args.backend.startswith("fake_"):  # a device would be billed for six arms
        parser.error(f"--backend must be a fake backend (fake_*), got {args.backend!r}.")
    backend = get_backend(args.backend)
    rng = np.random.default_rng(args.seed)
    n_weights = len(representation_circuit(WIDTH, LAYERS, "ring")[3])
    circuits = [representation_qiskit_circuit(WIDTH, LAYERS, "ring",
                                              rng.uniform(0, np.pi, WIDTH),
                                              rng.uniform(0, 2 * np.pi, n_weights))
                for _ in range(args.circuits)]
    exact = np.stack([execute.exact_expectation_z(c) for c in circuits])
    isa = [transpile_for(c, backend, 3, seed=args.seed) for c in circuits]
    idle = with_idle_delays(isa, backend)
    print(f"{backend.name}: {args.circuits} circuits, {args.shots} shots; "
          f"{np.mean([c.count_ops().get('delay', 0) for c in idle]):.1f} delays per circuit "
          "once scheduled")
    errors: dict[str, np.ndarray] = {}
    print("\n| arm | mean abs error of ⟨Z_k⟩ (± se) | seconds |\n|---|---|---|", flush=True)
    for name, scheduled, options in ARMS:  # each row as it is measured: an arm takes minutes
        start = time.perf_counter()
        z = execute.expectation_z(idle if scheduled else isa, backend, args.shots,
                                  seed=args.seed + 1, errors=execute.ErrorOptions(**options))
        errors[name] = np.abs(z - exact).mean(axis=1)
        e = errors[name]
        print(f"| {name} | {e.mean():.4f} ± {e.std(ddof=1) / np.sqrt(len(e)):.4f} | "
              f"{time.perf_counter() - start:.0f} |", flush=True)
    lines = ["", "| comparison | difference [95 % CI], paired over circuits | p |", "|---|---|---|"]
    for a, b, what in PAIRS:
        d = stats.paired(errors[a], errors[b])
        lines.append(f"| {a} − {b} ({what}) | {d['difference']:+.4f} [{d['ci_low']:+.4f}, "
                     f"{d['ci_high']:+.4f}] | {d['p']:.3g} |")
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run("bench.idle_noise", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
