"""Array-level device evaluation: results, JSONL persistence and resume."""

import json

import numpy as np
import pytest

import convert.execute as execute
from convert.backends import get_backend
from convert.device_eval import read_results, run_representation_on_backend
from convert.qiskit_circuits import representation_qiskit_circuit
from tfq_ssl.errors import CorruptFileError, RunFolderError

WIDTH, LAYERS = 3, 1
SV = get_backend("statevector")


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return rng.uniform(0, np.pi, (5, WIDTH)), rng.uniform(0, 2 * np.pi, 2 * WIDTH * LAYERS)


@pytest.fixture
def counted(monkeypatch):
    """Counts the images sent to execution."""
    sent: list[int] = []
    real = execute.expectation_z

    def counting(circuits, *args, **kwargs):
        sent.append(len(circuits))
        return real(circuits, *args, **kwargs)

    monkeypatch.setattr(execute, "expectation_z", counting)
    return sent


def _run(angles, weights, path, **kwargs):
    kwargs = {"backend": SV, "shots": 100, "recompile": False, **kwargs}
    return run_representation_on_backend(
        angles, weights, WIDTH, LAYERS, "ring", results_path=str(path), **kwargs
    )


def test_results_match_exact_and_are_persisted(inputs, tmp_path, counted):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    got = _run(angles, weights, path, batch_size=2)
    circuits = [representation_qiskit_circuit(WIDTH, LAYERS, "ring", a, weights) for a in angles]
    np.testing.assert_allclose(got, execute.expectation_z(circuits, SV), atol=1e-12)
    assert counted == [2, 2, 1, 5]  # three batches, then the reference call above
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2, 3, 4]
    expected_keys = {"expectation_z", "logical", "level3", "recompiled", "overlap", "used"}
    assert expected_keys <= set(records[0])


def test_rerun_does_not_execute_finished_images(inputs, tmp_path, counted):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    first = _run(angles[:3], weights, path)
    assert counted == [3]
    again = _run(angles[:3], weights, path)
    assert counted == [3]  # nothing re-executed
    np.testing.assert_array_equal(first, again)
    more = _run(angles, weights, path)
    assert counted == [3, 2]  # only the two new images
    np.testing.assert_array_equal(more[:3], first)


def test_torn_last_line_is_dropped_and_redone(inputs, tmp_path, counted):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    full = _run(angles, weights, path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]) + lines[3][:20])  # crash while writing image 3
    assert sorted(read_results(str(path))) == [0, 1, 2]
    np.testing.assert_allclose(_run(angles, weights, path), full, atol=1e-12)
    assert counted == [5, 2]
    assert len(path.read_text().splitlines()) == 5


def test_other_inputs_or_settings_are_refused(inputs, tmp_path):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    _run(angles[:2], weights, path)
    with pytest.raises(RunFolderError, match="different run.*weights_fingerprint"):
        _run(angles[:2], weights + 0.1, path)
    with pytest.raises(RunFolderError, match="different run.*angles"):
        _run(angles[:2] + 1e-3, weights, path)
    _run(angles[:2] + 1e-7, weights, path)  # float noise of a forward pass is tolerated
    with pytest.raises(RunFolderError, match="different run.*recompile"):
        _run(angles[:2], weights, path, recompile=True)
    # a results folder of more images than now asked for (--images lowered)
    with pytest.raises(RunFolderError, match="has image 1, but only 1 images were given"):
        _run(angles[:1], weights, path)


def test_a_garbled_line_before_the_last_is_a_corrupt_file(inputs, tmp_path):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    _run(angles[:3], weights, path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{garbage\n" + "".join(lines[2:]))
    with pytest.raises(CorruptFileError, match="results.jsonl: line 2 is not valid JSON"):
        read_results(str(path))


def test_fake_backend_with_recompilation(inputs, tmp_path):
    angles, weights = inputs
    path = tmp_path / "results.jsonl"
    paris = get_backend("fake_paris")
    got = _run(angles[:2], weights, path, backend=paris, shots=400, recompile=True, seed=3)
    exact = _run(angles[:2], weights, tmp_path / "exact.jsonl")
    assert np.abs(got - exact).max() < 0.3
    records = list(read_results(str(path)).values())
    assert all(r["used"] == "recompiled" and r["overlap"] >= 0.99 for r in records)
    assert all(r["recompiled"]["two_qubit"] < r["level3"]["two_qubit"] for r in records)


def test_workers_compile_the_same_circuits_and_results(inputs, tmp_path):
    """Compilation is seeded, so a pool of processes gives what one process gives."""
    angles, weights = inputs
    paris = get_backend("fake_paris")
    run = {"backend": paris, "shots": 200, "recompile": True, "seed": 5, "batch_size": 4}
    one = _run(angles[:4], weights, tmp_path / "one.jsonl", **run)
    two = _run(angles[:4], weights, tmp_path / "two.jsonl", workers=2, **run)
    np.testing.assert_array_equal(one, two)
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    assert [strip(r) for r in read_results(str(tmp_path / "one.jsonl")).values()] == [
        strip(r) for r in read_results(str(tmp_path / "two.jsonl")).values()]


def test_workers_must_be_positive(inputs, tmp_path):
    angles, weights = inputs
    with pytest.raises(ValueError, match="workers"):
        _run(angles, weights, tmp_path / "r.jsonl", workers=0)
    assert not (tmp_path / "r.jsonl").exists()


def test_a_real_backend_is_not_sent_to_worker_processes():
    from concurrent.futures import ProcessPoolExecutor

    from convert.device_eval import _compile_pool

    class Device:  # stands in for an IBMBackend: not a fake one, not statevector
        name = "ibm_somewhere"

    with _compile_pool(Device(), 2, [0, 1]) as pool:
        assert pool is None
    with _compile_pool(get_backend("fake_paris"), 2, [0, 1]) as pool:
        assert isinstance(pool, ProcessPoolExecutor)
