"""Named run configurations: the paper's experiments and a tiny smoke run.

Paper settings (Jaderberg et al. 2021/22, Appendix A): batch 256, Adam lr 1e-3,
weight decay 1e-6, τ = 0.07, W = 8, L = 2; the 5-class runs last 176 batches and
are probed every 13 batches; the 2-class run has no projection head and 100 batches.

The paper presets initialise weights as the paper's PyTorch code did
(``model.init="torch"``): with Keras' defaults the classical network probes several
points lower, further from the authors' own figure (docs/parity-audit.md, "Ablations").
"""

from __future__ import annotations

from dataclasses import replace

from tfq_ssl.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfq_ssl.errors import ConfigError

_FIVE = RunConfig(
    name="paper_5class_quantum",
    data=DataConfig(classes=5),
    model=ModelConfig(representation="quantum", width=8, layers=2, ansatz="ring", init="torch"),
    train=TrainConfig(batch_size=256, steps=176, save_every=13),
)


def _five(name: str, **model: object) -> RunConfig:
    return replace(_FIVE, name=name, model=replace(_FIVE.model, **model))


PRESETS: dict[str, RunConfig] = {
    "smoke": RunConfig(
        name="smoke",
        data=DataConfig(classes=2, shuffle_buffer=256),
        model=ModelConfig(width=4, layers=1),
        train=TrainConfig(batch_size=8, steps=4, save_every=2, hs_batch=4),
    ),
    "paper_2class_quantum": RunConfig(
        name="paper_2class_quantum",
        data=DataConfig(classes=2),
        model=ModelConfig(width=8, layers=2, projection_head=False, init="torch"),
        train=TrainConfig(batch_size=256, steps=100, save_every=10),
    ),
    "paper_5class_quantum": _FIVE,
    "paper_5class_quantum_shots100": _five(
        "paper_5class_quantum_shots100", differentiator="parameter_shift", shots=100
    ),
    "paper_5class_classical": _five("paper_5class_classical", representation="classical"),
    "paper_5class_all_to_all": _five("paper_5class_all_to_all", ansatz="all_to_all", layers=3),
}


def get_preset(name: str) -> RunConfig:
    """The preset called ``name``; a clear error lists the valid names."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    return PRESETS[name]
