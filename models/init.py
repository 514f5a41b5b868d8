"""Weight initialisation: Keras' defaults, or PyTorch's (what the paper's code used).

``"keras"``: Conv2D ``he_normal`` (truncated normal, fan_in), Dense ``glorot_uniform``
with zero biases. ``"torch"``: as ``torch.nn`` initialises the reference's layers, in
PyTorch's documented conventions: convolutions ``kaiming_normal_(mode="fan_out",
nonlinearity="relu")``, an untruncated normal of std √(2 / fan_out) with
fan_out = out_channels × kernel area; ``nn.Linear``'s default, weights and biases
uniform in ±1/√fan_in. The two differ most in the 512 → W compression layer, whose
glorot range is 2.4× wider at W = 8 (docs/parity-audit.md, item 3).
"""

from __future__ import annotations

import math

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import tf_keras

from tfq_ssl.config import INITS


def _check(init: str) -> None:
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}.")


def conv_kernel(init: str) -> tf_keras.initializers.Initializer | str:
    """The kernel initialiser of a ReLU network's convolutions."""
    _check(init)
    if init == "torch":
        return tf_keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")
    return "he_normal"


def dense(units: int, fan_in: int, init: str, *, use_bias: bool = True,
          name: str | None = None) -> tf_keras.layers.Dense:
    """``Dense(units)`` on ``fan_in`` inputs, initialised the ``init`` way."""
    _check(init)
    if init == "keras":
        return tf_keras.layers.Dense(units, use_bias=use_bias, name=name)
    bound = 1.0 / math.sqrt(fan_in)
    return tf_keras.layers.Dense(
        units, use_bias=use_bias, name=name,
        # VarianceScaling(1/3, fan_in, uniform) draws from ±√(3 · (1/3) / fan_in).
        kernel_initializer=tf_keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
        bias_initializer=tf_keras.initializers.RandomUniform(-bound, bound))
