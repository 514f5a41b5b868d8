"""The paper's experiments as data: each figure's model variants (a preset plus
overrides) and the paper's own figures, and the config and folder of one (variant, seed).

Shared by the commands that run them (train.experiment for one figure, train.paper for
all): a variant of the same name in two specs is the same model, so its runs are shared.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterable, Sequence

from tfq_ssl import config as config_lib
from tfq_ssl import config_io
from train.presets import get_preset


@dataclasses.dataclass(frozen=True)
class Variant:
    """One model of a spec: a preset plus overrides; ``width`` groups width ablations."""

    name: str
    preset: str
    overrides: tuple[str, ...] = ()
    family: str = ""
    width: int | None = None


@dataclasses.dataclass(frozen=True)
class Spec:
    """A figure of the paper: its variants and the paper's end-of-training figures (%)."""

    title: str
    variants: tuple[Variant, ...]
    paper: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    kind: str = "curves"  # "curves", "width", "training" or "controls"
    every_checkpoint: bool = False  # compare the variants at every common checkpoint


# Fig. 5's two models. Every figure's W = 8 quantum (ring) and classical model is one
# of these, under the same name, so a folder or ledger holding Fig. 5's runs serves
# Figs. 7, 8, 10 and the wide sweep too. The circuits run on the statevector engine:
# the same exact expectations as TFQ's (tests/tfq_ssl/quantum), several times faster.
# The paper's Fig. 5 (end of training, mean ± std over 6 seeds): the ring and the
# classical network at W = 8, the points that Figs. 7, 8 and 10 share with it.
PAPER_W8 = {"quantum": (46.51, 1.37), "classical": (43.49, 1.31)}
QUANTUM = Variant("quantum", "paper_5class_quantum", ("model.engine=statevector",), "quantum", 8)
CLASSICAL = Variant("classical", "paper_5class_classical", (), "classical", 8)


def _widths(shared: Variant, widths: Iterable[int], extra: tuple[str, ...] = ()
            ) -> tuple[Variant, ...]:
    """``shared``'s family at each width: ``shared`` itself at its own width (W = 8)."""
    return tuple(
        shared if w == shared.width else
        Variant(f"{shared.family}_W{w}", shared.preset,
                (f"model.width={w}",) + (extra or shared.overrides), shared.family, w)
        for w in widths
    )


SPECS: dict[str, Spec] = {
    "fig5": Spec(
        "Fig. 5: quantum vs classical representation network",
        (QUANTUM,
         Variant("quantum_100_shots", "paper_5class_quantum_shots100",
                 ("model.engine=statevector",)),
         CLASSICAL),
        paper={**PAPER_W8, "quantum_100_shots": (46.34, 2.07)},
    ),
    # Figs. 7 and 8 are plots; their only numbers are the W = 8 points, Fig. 5's runs.
    "fig7": Spec("Fig. 7: classical width ablation",
                 _widths(CLASSICAL, (2, 4, 8, 16, 512)), kind="width",
                 paper={"classical": PAPER_W8["classical"]}),
    "fig8": Spec("Fig. 8: quantum vs classical across widths",
                 _widths(QUANTUM, (2, 4, 6, 8)) + _widths(CLASSICAL, (2, 4, 6, 8)),
                 kind="width", paper=PAPER_W8),
    # Beyond the paper, which stopped at W = 8: the tensor-network engine makes wide
    # rings cost about what the classical network does (bench/README.md). At W = 8 the
    # exact statevector engine computes the same model: Fig. 5's runs serve.
    "wide": Spec("Quantum vs classical at 8-20 qubits/neurons (tensor-network engine)",
                 _widths(QUANTUM, (8, 12, 16, 20), ("model.engine=tensornet",))
                 + _widths(CLASSICAL, (8, 12, 16, 20)),
                 kind="width", paper=PAPER_W8),
    "fig10": Spec(
        "Fig. 10: ring (Fig. 5's quantum) vs all-to-all ansatz vs classical",
        (QUANTUM,
         Variant("all_to_all", "paper_5class_all_to_all", ("model.engine=statevector",)),
         CLASSICAL),
        paper={**PAPER_W8, "all_to_all": (43.46, 1.68)},
    ),
    # Issue 23: which property of the circuit carries Fig. 5's gain? The ring without its
    # entanglement, classical networks with bounded (tanh) or bounded and periodic (cos)
    # outputs, and no representation network at all. "quantum" and "classical" are
    # Fig. 5's variants (same names, presets and overrides), so one experiment folder
    # serves both specs and their runs are shared.
    "controls": Spec(
        "Controls: is Fig. 5's advantage quantum?",
        (QUANTUM,
         Variant("quantum_ring_product", "paper_5class_quantum",
                 ("model.ansatz=ring_product", "model.engine=statevector")),
         CLASSICAL,
         Variant("classical_cos", "paper_5class_classical", ("model.activation=cos",)),
         Variant("classical_tanh", "paper_5class_classical", ("model.activation=tanh",)),
         Variant("identity", "paper_5class_classical", ("model.representation=identity",))),
        paper=PAPER_W8, kind="controls",
    ),
    # Issue 23: does the gap grow, stay or close with longer pretraining? Fig. 5's two
    # arms at 5 epochs (485 batches of 256), saved and probed at 176 (Fig. 5's end:
    # the same batches, so its checkpoint 176 is Fig. 5's run), 352 and 485.
    "longer": Spec(
        "Longer pretraining: Fig. 5's arms at 5 epochs",
        (Variant("quantum_485", "paper_5class_quantum",
                 ("model.engine=statevector", "train.steps=485", "train.save_every=176")),
         Variant("classical_485", "paper_5class_classical",
                 ("train.steps=485", "train.save_every=176"))),
        every_checkpoint=True,
    ),
    # Issue 18: does training under a current device's noise help once the model runs
    # there? Fig. 5's exact ring against the same model trained and probed under
    # fake_fez's calibrated noise (Pauli trajectories on the statevector engine); both are
    # then evaluated on fake_fez by bench.noise_aware.
    "noise_fez": Spec(
        "Noise-aware training: Fig. 5's ring, exact and under fake_fez's noise",
        (QUANTUM,
         Variant("quantum_noise_fez", "paper_5class_quantum",
                 ("model.engine=statevector", "model.noise_from=fake_fez"))),
    ),
    "fig4": Spec("Fig. 4: 2-class training loss and Hilbert–Schmidt metrics",
                 (Variant("quantum_2class", "paper_2class_quantum",
                          ("model.engine=statevector",)),), kind="training"),
}


# Keys that make a variant what it is: an override of one would put another model
# under the variant's name (and into its run folders).
IDENTITY_KEYS = ("model.representation", "model.ansatz", "model.activation", "model.noise_from")


def check_identity(spec: Spec, overrides: Sequence[str]) -> None:
    """Refuse ``--set`` keys that would change what a variant is: the representation,
    ansatz and activation always, and a key a variant of the spec sets itself, to
    another value than the variant's."""
    def split(item: str) -> tuple[str, str]:
        key, _, value = item.partition("=")
        return key.strip(), value.strip()

    set_by_spec = [split(o) for v in spec.variants for o in v.overrides]
    for item in overrides:
        key, value = split(item)
        if key in IDENTITY_KEYS or any(k == key and v != value for k, v in set_by_spec):
            raise config_lib.ConfigError(
                f"--set {key} would change what the spec's variants are (their names and run "
                f"folders would hold another model); choose variants with --variants, or "
                f"pretrain a model of your own with train.pretrain.")


def run_dir(exp_dir: str, variant: Variant, seed: int) -> str:
    return os.path.join(exp_dir, "runs", variant.name, f"seed-{seed}")


def run_config(variant: Variant, seed: int, overrides: Sequence[str] = ()) -> config_lib.RunConfig:
    """The validated config of one (variant, seed) with the experiment's overrides."""
    return config_io.override(
        get_preset(variant.preset),
        [*variant.overrides, f"train.seed={seed}", f"name={json.dumps(variant.name)}", *overrides],
    )


