"""Every test starts from the same random state, whatever ran before it.

TensorFlow derives op seeds from the global seed and a per-process counter, so a
test's random draws used to depend on which tests ran earlier (the flaky
``test_loss_falls_on_a_fixed_batch``). Seeding Python, NumPy and TensorFlow before
each test, with deterministic kernels, makes each test's outcome a function of the
test alone.
"""

import pytest

from tfq_ssl import cli  # sets TF_USE_LEGACY_KERAS before TF loads

# TensorFlow loaded as the entry points load it: its known-benign startup lines (CUDA
# plugin registration, no driver) held back, so a test run's output starts with pytest's.
tf = cli.load_tensorflow()
import tf_keras  # noqa: E402  (after TensorFlow, as above)

SEED = 20211220  # the paper's arXiv date

tf.config.experimental.enable_op_determinism()

# make test hands each of its two workers whole files (--dist loadfile), in collection
# order (--no-loadscope-reorder: xdist would otherwise put the files with the most tests
# first, and the end-to-end paper test, four tests long, ran alone at the end). So the
# longest files are collected first, the rest fill in around them.
LONGEST_FIRST = ("tests/train/test_paper.py", "tests/train/test_sweep.py",
                 "tests/models/test_pretraining_kills.py", "tests/train/test_variance.py",
                 "tests/models/test_simclr_fit.py", "tests/tfq_ssl/test_checkpoints.py",
                 "tests/models/test_distribute.py", "tests/models/test_pairing.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)  # stable: each file's tests stay together and in order


@pytest.fixture(autouse=True)
def _seed_everything():
    tf_keras.utils.set_random_seed(SEED)  # python, numpy and tensorflow
    yield


@pytest.fixture(autouse=True)
def _no_data_dir_from_the_environment(monkeypatch):
    """Entry points take ``$TFDS_DATA_DIR`` as ``--data-dir``'s default; a developer's
    own setting must not steer tests (and their children) to other data."""
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)

