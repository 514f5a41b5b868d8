"""Keras model builders for tfq-ssl (ResNet, representation networks, SimCLR, probe)."""

import tfq_ssl as _tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)
