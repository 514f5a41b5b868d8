import tfq_ssl  # noqa: F401
import dataclasses
import json
import os

import numpy as np
import pytest

from tests.helpers import generated_images, tiny_config, view_pairs
from tfq_ssl.config import ProbeConfig
from models import linear_probe as probe_lib
from models.simclr_fit import pretrain
from models.run import FEATURE_ENGINE, Run, feature_engine
from tfq_ssl import rundir
from tfq_ssl import probe_store


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    config = tiny_config("quantum", steps=2, save_every=1, hs_metrics=False)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    return run_dir


def _datasets():
    return generated_images(96, classes=2, seed=1), generated_images(48, classes=2, seed=2)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["cached", "paper"])
def test_probe_beats_chance_and_resumes(tiny_run, protocol, monkeypatch):
    probe = ProbeConfig(protocol=protocol, epochs=12 if protocol == "cached" else 3,
                        batch_size=32, learning_rate=0.05)
    [result] = probe_lib.probe_run(tiny_run, [2], probe, datasets=_datasets())
    assert result["protocol"] == protocol and result["step"] == 2
    if protocol == "cached":
        # classes differ in colour: even an untrained-ish encoder separates them
        assert result["final_test_accuracy"] >= 0.8
    assert result["best_test_accuracy"] >= result["final_test_accuracy"]
    assert len(result["test_accuracy_per_epoch"]) == probe.epochs
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == 48
    path = probe_store.probe_result_path(tiny_run, probe, 2)
    assert os.path.exists(path) and os.path.exists(path.replace(".json", ".head.npz"))
    head = Run(tiny_run).probe_head(protocol, 2)
    assert head.kernel.shape == (2, 2) and head.bias.shape == (2,)

    # A rerun skips the probed checkpoint (training it again would fail here).
    monkeypatch.setattr(probe_lib, "train_probes", lambda *a, **k: pytest.fail("re-probed"))
    [again] = probe_lib.probe_run(tiny_run, [2], probe, datasets=_datasets())
    assert again == json.loads(open(path).read())


def test_select_checkpoints(tiny_run):
    assert rundir.select_checkpoints(tiny_run, "all") == [1, 2]
    assert rundir.select_checkpoints(tiny_run, "latest") == [2]
    assert rundir.select_checkpoints(tiny_run, "1") == [1]
    with pytest.raises(ValueError, match="no checkpoints for steps"):
        rundir.select_checkpoints(tiny_run, "7")
    with pytest.raises(ValueError, match="all, latest"):
        rundir.select_checkpoints(tiny_run, "first")


def test_summary_reports_final_and_best():
    history = {"val_accuracy": [0.5, 0.9, 0.7], "accuracy": [0.5, 0.6, 0.7]}
    labels = np.array([0, 0, 1, 1])
    logits = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], np.float32)
    summary = probe_lib.summarise(history, labels, logits, ["a", "b"])
    assert summary["final_test_accuracy"] == 0.7
    assert summary["best_test_accuracy"] == 0.9 and summary["best_epoch"] == 2
    assert summary["confusion_matrix"] == [[1, 1], [0, 2]]
    assert summary["per_class_accuracy"] == {"a": 0.5, "b": 1.0}


def test_features_of_the_statevector_engine_match_the_runs_tfq_engine(tiny_run):
    """The probe computes an exact TFQ run's features on the statevector engine."""
    config = rundir.read_config(tiny_run)
    assert config.model.engine == "tfq"
    assert feature_engine(config.model) == "statevector"
    images, _ = probe_lib.split_arrays(generated_images(48, classes=2, seed=3))
    run = Run(tiny_run)
    own = probe_lib.features(run.encoder(2), images)
    fast = probe_lib.features(run.encoder(2, FEATURE_ENGINE), images)
    assert np.ptp(own, axis=0).min() > 1e-3  # features that vary, so the check means something
    np.testing.assert_allclose(fast, own, atol=1e-5)


def test_sampled_and_noisy_runs_keep_their_own_engine():
    model = tiny_config("quantum").model
    for changed in (dict(shots=100, differentiator="parameter_shift"),
                    dict(noise=0.01, differentiator="parameter_shift"),
                    dict(width=16), dict(engine="tensornet")):
        other = dataclasses.replace(model, **changed)
        assert feature_engine(other) == other.engine


@pytest.mark.slow
def test_one_augmented_stream_feeds_every_checkpoint_as_if_probed_alone(tiny_run):
    """The paper protocol probes several checkpoints on one augmented stream per epoch;
    each result equals that checkpoint's probe on its own, and each epoch's stream holds
    other augmentations than the last (fresh views every epoch)."""
    probe = ProbeConfig(protocol="paper", epochs=2, batch_size=32, learning_rate=0.05)
    train, test = (probe_lib.split_arrays(d) for d in _datasets())
    names = ["a", "b"]
    encoders = [Run(tiny_run).encoder(s) for s in (1, 2)]
    together = probe_lib.train_probes(encoders, train, test, names, probe)
    for encoder, (summary, head) in zip(encoders, together):
        alone, alone_head = probe_lib.train_probe(encoder, train, test, names, probe)
        assert summary["test_accuracy_per_epoch"] == alone["test_accuracy_per_epoch"]
        np.testing.assert_allclose(head.get_weights()[0], alone_head.get_weights()[0], atol=1e-6)
    epochs = [next(iter(probe_lib._augmented_stream(*train, probe, e)))[0].numpy() for e in (0, 1)]
    assert epochs[0].shape == (len(train[1]), 32, 32, 3)
    assert np.abs(epochs[0] - epochs[1]).mean() > 0.1


def test_learning_rate_schedule():
    probe = ProbeConfig(epochs=100, learning_rate=1e-3)
    rates = [probe_lib.learning_rate(probe, e) for e in (0, 59, 60, 79, 80, 99)]
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


@pytest.mark.parametrize("head", ["standardized", "lbfgs"])
def test_other_heads_store_their_own_results_and_a_head_on_raw_features(tiny_run, head):
    probe = ProbeConfig(epochs=12, batch_size=32, learning_rate=0.05, head=head)
    [result] = probe_lib.probe_run(tiny_run, [2], probe, datasets=_datasets())
    assert result["probe_config"]["head"] == head
    assert probe_store.probe_key(probe).endswith(f"-{head}")
    assert os.path.exists(probe_store.probe_result_path(tiny_run, probe, 2))
    assert result["final_test_accuracy"] >= 0.8  # the classes differ in colour
    width = rundir.read_config(tiny_run).model.width
    assert len(result["feature_std"]) == width and result["feature_std_median"] > 0
    if head == "lbfgs":
        assert len(result["test_accuracy_per_epoch"]) == 1
    # The stored head acts on the raw features: it reproduces the stored accuracy.
    encoder = Run(tiny_run).encoder(2, "statevector")
    (_, _), (test_images, test_labels) = [probe_lib.split_arrays(d) for d in _datasets()]
    x = probe_lib.features(encoder, test_images)
    kernel, bias = np.load(probe_store.probe_head_path(tiny_run, probe, 2)).values()
    accuracy = np.mean((x @ kernel + bias).argmax(1) == test_labels)
    assert accuracy == pytest.approx(result["final_test_accuracy"], abs=1e-9)


def test_fold_standardization_is_exact():
    from models.probe_heads import fold_standardization, standardizer
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)) * [1e-3, 1, 10, 0.1] + [5, 0, -1, 2]
    kernel, bias = rng.normal(size=(4, 3)), rng.normal(size=3)
    mean, std = standardizer(x)
    k2, b2 = fold_standardization(kernel, bias, mean, std)
    np.testing.assert_allclose(x @ k2 + b2, ((x - mean) / std) @ kernel + bias, rtol=1e-4, atol=1e-4)


def test_adam_head_keeps_the_keys_of_results_stored_before_heads_existed():
    assert probe_store.probe_key(ProbeConfig()) == "cached"
    assert probe_store.probe_key(ProbeConfig(protocol="paper")) == "paper"
    # digest of a non-default schedule as computed before the head field existed
    import hashlib
    old = {k: v for k, v in dataclasses.asdict(ProbeConfig(epochs=7)).items() if k != "head"}
    digest = hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:8]
    assert probe_store.probe_key(ProbeConfig(epochs=7)) == f"cached-{digest}"
    assert probe_store.probe_key(ProbeConfig(head="lbfgs")) == "cached-lbfgs"


@pytest.mark.slow
def test_heads_sharing_a_memo_compute_each_checkpoints_features_once(tmp_path, monkeypatch):
    run_dir = str(tmp_path / "run")
    config = tiny_config("classical", steps=1, save_every=1, hs_metrics=False)
    pretrain(config, run_dir, dataset=view_pairs(config), verbose=0)
    calls = []
    encode = probe_lib._encode_arrays
    monkeypatch.setattr(probe_lib, "_encode_arrays",
                        lambda *a, **k: calls.append(1) or encode(*a, **k))
    datasets = tuple(probe_lib.split_arrays(d) for d in _datasets())
    memo = {}
    results = [probe_lib.probe_run(run_dir, [1], ProbeConfig(epochs=2, batch_size=32, head=h),
                                   datasets=datasets, memo=memo)[0]
               for h in ("adam", "standardized", "lbfgs")]
    assert len(calls) == 2  # train and test split, once for three heads
    assert len({r["probe_config"]["head"] for r in results}) == 3
    assert results[0]["feature_std"] == results[2]["feature_std"]
