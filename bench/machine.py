"""What a benchmark ran on: the CPU, its vector extensions, oneDNN and TF's threads.

Timings of this project differ 20× between CPU kinds (bench/README.md), so every
benchmark prints this line first and a figure is never read without its machine.
"""

from __future__ import annotations

import os
import platform

_EXTENSIONS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu() -> tuple[str, list[str]]:
    """The CPU's model name and which of the extensions that matter to TF it has."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:  # not Linux: the model name from platform only
        pass
    return model, [ext for ext in _EXTENSIONS if ext in flags]


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None: unknown)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def describe() -> str:
    """One line: CPU model, extensions, cores, oneDNN on/off, TF's thread pools."""
    import tensorflow as tf

    model, extensions = cpu()
    onednn = {True: "on", False: "off", None: "unknown"}[onednn_enabled()]
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    inter = tf.config.threading.get_inter_op_parallelism_threads() or "default"
    return (f"machine: {model}; {' '.join(extensions) or 'no AVX2/AVX-512/AMX'}; "
            f"{os.cpu_count()} cores; oneDNN {onednn} (TF_ENABLE_ONEDNN_OPTS="
            f"{setting if setting is not None else 'unset'}); TF threads intra-op {intra}, "
            f"inter-op {inter} (default: one per core)")
