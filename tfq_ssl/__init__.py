"""tfq-ssl: quantum self-supervised learning (Jaderberg et al., 2021/22) on TFQ / Keras 2.

TensorFlow Quantum 0.7.6 needs Keras 2, so ``TF_USE_LEGACY_KERAS=1`` must be set
before TensorFlow is first imported; importing this package does that (it respects
an explicit value already in the environment).
"""

import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
