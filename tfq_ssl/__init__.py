"""tfq-ssl: quantum self-supervised learning (Jaderberg et al., 2021/22) on TFQ / Keras 2.

TensorFlow Quantum 0.7.6 needs Keras 2, so ``TF_USE_LEGACY_KERAS=1`` must be set
before TensorFlow is first imported; importing this package does that (it respects
an explicit value already in the environment).

It also turns TensorFlow's oneDNN CPU kernels on for x86 CPUs, unless the user has set
``TF_ENABLE_ONEDNN_OPTS`` themselves. TensorFlow enables them by default only on CPUs
with AVX-512 VNNI/BF16 or AMX; on every other x86 CPU (AVX2 laptops, desktops and
most cloud machines) its fallback kernels make a training step several times slower
(bench/README.md, "The step on an AVX2 CPU"). On CPUs where TensorFlow already turns
them on, this changes nothing.
"""

import os as _os
import platform as _platform

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if _platform.machine().lower() in ("x86_64", "amd64"):
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
