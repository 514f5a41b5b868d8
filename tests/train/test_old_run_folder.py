"""A run folder made before the 2026-12 redesign (config.json with model.backend)
still resumes, probes and converts, and its config.json is left as it was."""

import tfq_ssl  # noqa: F401
import json
import os
import shutil

import numpy as np
import pytest

from convert import evaluate
from models import linear_probe as probe_lib
from models.simclr_fit import pretrain
from models.run import Run
from tests.helpers import ROOT, InterruptAt, generated_images, view_pairs
from tfq_ssl import config_io
from tfq_ssl import rundir
from tfq_ssl.config import ProbeConfig

pytestmark = pytest.mark.slow  # child processes or whole runs, each test

OLD_CONFIG = os.path.join(ROOT, "tests", "data", "config_2026-11.json")


def test_old_run_folder_resumes_probes_and_converts(tmp_path, monkeypatch):
    run = str(tmp_path / "run")
    os.makedirs(run)
    shutil.copy(OLD_CONFIG, rundir.config_path(run))
    config = rundir.read_config(run)
    assert config.model.engine == "tfq"
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, run, dataset=view_pairs(config), verbose=0, callbacks=[InterruptAt(1)])
    assert rundir.list_checkpoints(run) == [1]
    result = pretrain(config_io.load_json(rundir.config_path(run)), run,
                      dataset=view_pairs(config), verbose=0)
    assert result["done"] and result["checkpoints"] == [1, 2]

    probe = ProbeConfig(epochs=4, batch_size=32)
    [probed] = probe_lib.probe_run(run, [2], probe, datasets=(
        generated_images(64, seed=1), generated_images(32, seed=2)))
    assert probed["step"] == 2

    images = generated_images(4, seed=3)
    x, y = map(np.stack, zip(*images.as_numpy_iterator()))
    monkeypatch.setattr(Run, "test_sample", lambda self, n, seed=0, data_dir=None: (x, y))
    summary = evaluate.evaluate(run, 2, "statevector", 4, 100, False, str(tmp_path / "device"))
    assert summary["agreement_with_statevector"] == 1.0
    assert json.load(open(rundir.config_path(run)))["model"]["backend"] == "tfq"
