"""Every test starts from the same random state, whatever ran before it.

TensorFlow derives op seeds from the global seed and a per-process counter, so a
test's random draws used to depend on which tests ran earlier (the flaky
``test_loss_falls_on_a_fixed_batch``). Seeding Python, NumPy and TensorFlow before
each test, with deterministic kernels, makes each test's outcome a function of the
test alone.
"""

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import pytest
import tensorflow as tf
import tf_keras

SEED = 20211220  # the paper's arXiv date

tf.config.experimental.enable_op_determinism()


@pytest.fixture(autouse=True)
def _seed_everything():
    tf_keras.utils.set_random_seed(SEED)  # python, numpy and tensorflow
    yield


@pytest.fixture(autouse=True)
def _no_data_dir_from_the_environment(monkeypatch):
    """Entry points take ``$TFDS_DATA_DIR`` as ``--data-dir``'s default; a developer's
    own setting must not steer tests (and their children) to other data."""
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)

