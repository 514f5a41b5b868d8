"""tfq-ssl train entry points."""

import tfq_ssl as _tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)
