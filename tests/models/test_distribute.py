"""tf.distribute: MirroredStrategy over two logical CPU devices trains exactly like
one device on the global batch (global negatives in NT-Xent, synchronised BatchNorm)."""

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # child processes or whole runs, each test



@pytest.mark.parametrize("representation", ["quantum"])
def test_mirrored_strategy_matches_single_device(representation):
    proc = subprocess.run(
        [sys.executable, "-m", "tests.models.distribute_check", representation],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["loss_mirrored"] == pytest.approx(result["loss_single"], rel=1e-4)
    assert result["max_weight_change"] > 1e-4  # the SGD step did something
    # Same update as one device on the global batch; a wrong replica scaling is off by 2x.
    assert result["max_weight_diff"] < 1e-3 * result["max_weight_change"]
