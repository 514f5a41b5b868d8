"""Evaluate a trained quantum model on a Qiskit device, image by image.

    python -m convert.evaluate --run RUN_DIR --backend fake_paris --images 900 --out DIR

The frozen encoder runs classically up to the angles; each image's representation
circuit (angles + trained ansatz weights) runs on the backend (a real IBM backend
through Qiskit Runtime, a ``fake_*`` backend with its noise model, or ``statevector``);
the run's trained linear-probe head classifies the measured ⟨Z_k⟩. Written to DIR:
``results.jsonl`` (every image as it arrives — a rerun resumes), ``summary.json``
(accuracy next to the same images' exact-simulation accuracy, gate statistics) and
``confusion.png``/``confusion.json``.

Credentials for real backends come from a saved ``QiskitRuntimeService`` account or the
``QISKIT_IBM_TOKEN`` environment variable; the token is passed to the service only and
never printed or written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.run import Run
from tfq_ssl import cli, files
from tfq_ssl.config import PROTOCOLS
from tfq_ssl.errors import ConfigError


def _mean(records: list[dict], stage: str, key: str) -> float | None:
    values = [r[stage][key] for r in records if r.get(stage)]
    return float(np.mean(values)) if values else None


def gate_summary(records: list[dict]) -> dict[str, Any]:
    """Mean two-qubit gate counts and depths per compilation stage, and overlaps."""
    summary: dict[str, Any] = {}
    for stage in ("logical", "level3", "recompiled"):
        summary[stage] = {k: _mean(records, stage, k) for k in ("two_qubit", "depth")}
    overlaps = [r["overlap"] for r in records]
    summary["overlap_mean"] = float(np.mean(overlaps))
    summary["overlap_min"] = float(np.min(overlaps))
    summary["executed"] = {u: sum(r["used"] == u for r in records) for u in
                           ("logical", "level3", "recompiled")}
    return summary


def evaluate(run_dir: str, step: int, backend_name: str, images: int, shots: int,
             recompile: bool, out_dir: str, protocol: str = "cached", seed: int = 0,
             data_dir: str | None = None, token: str | None = None,
             instance: str | None = None, channel: str | None = None,
             errors: Any = None, workers: int = 1) -> dict[str, Any]:
    """Run the device evaluation; see the module docstring. Holds ``out_dir``'s lock."""
    # TensorFlow and Qiskit load only here, so the command's --help and checks are instant.
    from convert.backends import get_backend  # noqa: PLC0415
    from convert.device_eval import read_results, run_representation_on_backend  # noqa: PLC0415
    from convert.execute import ErrorOptions  # noqa: PLC0415
    from models.probe_heads import confusion_matrix  # noqa: PLC0415
    from models.simclr import angle_model, quantum_layer  # noqa: PLC0415
    from tfq_ssl import plots  # noqa: PLC0415
    from tfq_ssl.data import normalize  # noqa: PLC0415
    from tfq_ssl.quantum.layer import QuantumRepresentation  # noqa: PLC0415

    run = Run(run_dir)
    config = run.config
    if config.model.representation != "quantum":
        raise ConfigError(f"{run_dir} is a {config.model.representation!r} run; device "
                          "evaluation needs a quantum representation network.")
    errors = errors or ErrorOptions()
    head = run.probe_head(protocol, step)
    backend = get_backend(backend_name, token=token, instance=instance, channel=channel)
    with files.locked(out_dir):
        encoder = run.encoder(step)
        layer = quantum_layer(encoder)
        x, labels = run.test_sample(images, seed, data_dir)
        angles = angle_model(encoder).predict(normalize(x), batch_size=256, verbose=0)
        # Reference: the same trained circuit simulated exactly (no shots, no noise).
        exact = QuantumRepresentation(layer.width, layer.num_layers, ansatz=layer.ansatz)
        exact.build((None, layer.width))
        exact.ansatz_weights.assign(layer.ansatz_weights)
        y_exact = exact(angles).numpy()

        start = time.perf_counter()
        results_path = os.path.join(out_dir, "results.jsonl")
        y_device = run_representation_on_backend(
            angles, layer.ansatz_weights.numpy(), layer.width, layer.num_layers, layer.ansatz,
            backend, shots, recompile, results_path, seed=seed, errors=errors,
            symbolic=layer.symbolic, workers=workers,
        )
        names = run.class_names
        predicted = head.predict(y_device)
        predicted_exact = head.predict(y_exact)
        matrix = confusion_matrix(labels, predicted, len(names))
        records = list(read_results(results_path).values())
        summary = {
            "run": os.path.abspath(run_dir), "step": step, "backend": backend.name,
            "images": images, "shots": shots, "recompile": recompile, "seed": seed,
            "probe_protocol": protocol, "errors": errors.to_dict(),
            "device_accuracy": float(np.mean(predicted == labels)),
            "statevector_accuracy": float(np.mean(predicted_exact == labels)),
            "agreement_with_statevector": float(np.mean(predicted == predicted_exact)),
            "mean_abs_expectation_error": float(np.mean(np.abs(y_device - y_exact))),
            "gates": gate_summary(records),
            "seconds_this_invocation": round(time.perf_counter() - start, 1),
            "class_names": names, "confusion_matrix": matrix.tolist(),
            # Per image, so that two models on the same images compare paired
            # (stats.newcombe_paired), not as independent samples.
            "labels": np.asarray(labels).tolist(), "predictions": predicted.tolist(),
            "predictions_exact": predicted_exact.tolist(),
        }
        files.atomic_write_json(os.path.join(out_dir, "summary.json"), summary)
        plots.plot_confusion_matrix(
            matrix, names, os.path.join(out_dir, "confusion.png"),
            f"{backend.name}, {images} images: {100 * summary['device_accuracy']:.1f}%")
    return summary


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m convert.evaluate", description=description,
                                epilog=epilog)
    parser.add_argument("--run", required=True, metavar="RUN_DIR",
                        help="pretraining run folder of a quantum model, probed")
    parser.add_argument("--checkpoint", default="latest", help="a step, or latest (default)")
    parser.add_argument("--backend", required=True, metavar="DEVICE",
                        help="statevector, fake_paris (or another fake_*), or an IBM backend "
                             "name such as ibm_brisbane (token from QISKIT_IBM_TOKEN or a "
                             "saved account)")
    parser.add_argument("--images", type=cli.positive_int, default=900,
                        help="random test images (default 900, as the paper)")
    parser.add_argument("--shots", type=cli.positive_int, default=100,
                        help="shots per image (default 100, as the paper)")
    parser.add_argument("--recompile", action="store_true",
                        help="per-image recompilation to a shallower circuit (>= 99%% overlap)")
    parser.add_argument("--workers", type=cli.positive_int, default=1,
                        help="processes that compile circuits side by side (default 1; "
                             "results are the same for any count; real IBM backends use 1)")
    parser.add_argument("--protocol", default="cached", choices=PROTOCOLS,
                        help="which probe's trained head classifies (default cached)")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="seed of the image sample, the transpiler and fake-device noise")
    cli.add_data_dir(parser, os.environ, "the run's")
    parser.add_argument("--dd", default="none", choices=("none", "XX", "XpXm", "XY4"),
                        help="dynamical decoupling sequence on idle qubits (default none)")
    parser.add_argument("--twirling", action="store_true",
                        help="Pauli twirling of two-qubit gates and measurements")
    parser.add_argument("--readout-mitigation", action="store_true",
                        help="correct <Z> for readout errors with mthree (M3)")
    parser.add_argument("--instance", help="IBM Cloud instance (default: the saved account's)")
    parser.add_argument("--channel", help="Qiskit Runtime channel (default: the saved account's)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="results folder (rerun the same command to resume)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from convert.backends import check_instance  # noqa: PLC0415 - Qiskit only past --help
    from convert.execute import ErrorOptions  # noqa: PLC0415

    check_instance(args.instance)
    cli.check_out_folder(args.out)
    errors = ErrorOptions(args.dd, args.twirling, args.readout_mitigation)
    if errors.any and args.backend.strip().lower() == "statevector":
        raise ConfigError("--dd, --twirling and --readout-mitigation need a device or fake "
                          "backend; statevector is exact.")
    Run(args.run)  # a readable run folder, before TensorFlow loads
    step = cli.one_checkpoint(args.run, args.checkpoint)
    cli.load_tensorflow()
    summary = evaluate(args.run, step, args.backend, args.images, args.shots,
                       args.recompile, args.out, args.protocol, args.seed, args.data_dir,
                       token=os.environ.get("QISKIT_IBM_TOKEN"), instance=args.instance,
                       channel=args.channel, errors=errors, workers=args.workers)
    g = summary["gates"]
    print(f"{summary['backend']}: device accuracy {100 * summary['device_accuracy']:.2f}% vs "
          f"statevector {100 * summary['statevector_accuracy']:.2f}% on {args.images} images")
    print(f"two-qubit gates: logical {g['logical']['two_qubit']}, level 3 {g['level3']['two_qubit']}, "
          f"recompiled {g['recompiled']['two_qubit']}; overlap mean {g['overlap_mean']:.4f}")
    print(f"written: {os.path.abspath(args.out)}/summary.json, confusion.png, results.jsonl")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("convert.evaluate", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
