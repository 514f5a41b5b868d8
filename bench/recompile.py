"""Two-qubit gate counts and depths before routing, after level-3 transpilation and
after per-image recompilation (paper Sec. 4.4: 143 → ~14 CNOTs on ibmq_paris).

Usage: ``python -m bench.recompile --images 5`` (W=8, L=2 ring on fake_paris).
Angles are uniform in [0, π] (the compression layer's range) and weights uniform in
[0, 2π) (the usual initialisation), a fresh draw per image.

With ``--workers N`` it also times the device evaluation's path
(``convert.device_eval``: compile, then run at 100 shots) over the same angles with one
set of weights, on one process and on N, and checks that both give the same values.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from convert.backends import get_backend
from convert.device_eval import run_representation_on_backend
from convert.transpile import compile_for_device
from convert.qiskit_circuits import representation_qiskit_circuit
from tfq_ssl import cli
from tfq_ssl.quantum.circuits import representation_circuit
from tfq_ssl.quantum.options import ANSATZE


def _overlap(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.recompile",
                                description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=cli.positive_int, default=5)
    parser.add_argument("--width", type=cli.positive_int, default=8)
    parser.add_argument("--layers", type=cli.positive_int, default=2)
    parser.add_argument("--ansatz", default="ring", choices=ANSATZE)
    parser.add_argument("--backend", default="fake_paris")
    parser.add_argument("--target-overlap", type=_overlap, default=0.99)
    parser.add_argument("--seed", type=cli.non_negative_int, default=0)
    parser.add_argument("--workers", type=cli.positive_int, default=1,
                        help="also time the device evaluation on 1 and on N processes")
    args = parser.parse_args(argv)

    backend = get_backend(args.backend)
    n_weights = len(representation_circuit(args.width, args.layers, args.ansatz)[3])
    rng = np.random.default_rng(args.seed)
    print(f"{args.ansatz} W={args.width} L={args.layers} on {backend.name}, "
          f"target overlap {args.target_overlap}; two-qubit gates/depth per image")  # fmt: skip
    print(f"{'image':>5} {'logical':>10} {'level-3':>10} {'recompiled':>11} {'overlap':>8} "
          f"{'used':>10} {'seconds':>8}")  # fmt: skip
    rows = []
    for i in range(args.images):
        angles = rng.uniform(0, np.pi, args.width)
        weights = rng.uniform(0, 2 * np.pi, n_weights)
        circuit = representation_qiskit_circuit(
            args.width, args.layers, args.ansatz, angles, weights
        )
        start = time.perf_counter()
        _, report = compile_for_device(
            circuit, backend, recompile_circuit=True, seed=args.seed + i,
            target_overlap=args.target_overlap,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        lg, l3, rc = report.logical, report.level3 or report.logical, report.recompiled
        cells = [f"{s['two_qubit']}/{s['depth']}" for s in (lg, l3, rc)]
        print(f"{i:>5} {cells[0]:>10} {cells[1]:>10} {cells[2]:>11} {report.overlap:>8.4f} "
              f"{report.used:>10} {seconds:>8.1f}")  # fmt: skip
        used = report.used == "recompiled"
        rows.append((l3["two_qubit"], l3["depth"], rc["two_qubit"], rc["depth"], used, seconds))
    a = np.array(rows, dtype=float)
    ok = a[a[:, 4] == 1]
    print(f"mean level-3 {a[:, 0].mean():.1f} / {a[:, 1].mean():.1f}; "
          f"{a[:, 5].mean():.1f} s per image (level-3 + recompilation)")  # fmt: skip
    if len(ok):
        print(f"mean recompiled {ok[:, 2].mean():.1f} / {ok[:, 3].mean():.1f} over the "
              f"{len(ok)}/{len(a)} images that reached the target with fewer 2q gates")  # fmt: skip
    if args.workers > 1:
        _time_workers(args, backend, n_weights)
    return 0


def _time_workers(args: argparse.Namespace, backend, n_weights: int) -> None:
    rng = np.random.default_rng(args.seed)
    angles = rng.uniform(0, np.pi, (args.images, args.width))
    weights = rng.uniform(0, 2 * np.pi, n_weights)
    values, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, args.workers):
            start = time.perf_counter()
            values[workers] = run_representation_on_backend(
                angles, weights, args.width, args.layers, args.ansatz, backend, 100, True,
                os.path.join(tmp, f"{workers}.jsonl"), batch_size=25, seed=args.seed,
                target_overlap=args.target_overlap, workers=workers)
            seconds[workers] = time.perf_counter() - start
    same = np.array_equal(values[1], values[args.workers])
    print(f"device evaluation of {args.images} images (recompiled, 100 shots): "
          f"{seconds[1]:.1f} s on 1 process, {seconds[args.workers]:.1f} s on "
          f"{args.workers}: {seconds[1] / seconds[args.workers]:.2f}x; "
          f"same values: {same}")


def main(argv: list[str] | None = None) -> int:
    return cli.run("bench.recompile", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
