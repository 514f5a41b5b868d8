"""Runtime jobs survive an interruption: ids are persisted on submission, and a rerun
re-attaches to a submitted job instead of paying the queue again; one evaluation's
jobs share a Runtime Batch; service failures are one clear line without the token."""

import json

import numpy as np
import pytest
import requests

import convert.backends as backends
import convert.device_eval as device_eval
import convert.execute as execute
from convert.device_eval import jobs_path_for, run_representation_on_backend
from qiskit_ibm_runtime.fake_provider import FakeParisV2
from tfq_ssl.errors import ConfigError, DeviceError

WIDTH, LAYERS = 3, 1


class Killed(BaseException):
    pass


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return rng.uniform(0, np.pi, (4, WIDTH)), rng.uniform(0, 2 * np.pi, 2 * WIDTH * LAYERS)


class _Service:
    """Stands for QiskitRuntimeService: hands back the jobs it was given, by id."""

    def __init__(self, jobs):
        self.jobs, self.asked = jobs, []

    def job(self, job_id):
        self.asked.append(job_id)
        return self.jobs[job_id]


def _evaluate(angles, weights, backend, path):
    return run_representation_on_backend(angles, weights, WIDTH, LAYERS, "ring", backend, 500,
                                         False, str(path), batch_size=2, seed=1)


def test_job_ids_are_persisted_when_submitted(inputs, tmp_path):
    _evaluate(*inputs, FakeParisV2(), tmp_path / "results.jsonl")
    records = [json.loads(line) for line in open(jobs_path_for(str(tmp_path / "results.jsonl")))]
    assert [r["images"] for r in records] == [[0, 1], [2, 3]]
    assert all(r["job_id"] and r["backend"] == "fake_paris" for r in records)


def test_rerun_reattaches_to_a_submitted_job_instead_of_resubmitting(inputs, tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    submitted = {}
    real_run = execute.Sampler.run

    def run_and_keep(self, pubs, **kwargs):  # the service keeps every submitted job
        job = real_run(self, pubs, **kwargs)
        submitted[job.job_id()] = job
        return job

    real_append = device_eval.append_jsonl

    def append_then_die(path, records):  # the job id is on disk; the process dies
        real_append(path, records)
        if path.endswith(".jobs.jsonl"):
            raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(execute.Sampler, "run", run_and_keep)
        patch.setattr(device_eval, "append_jsonl", append_then_die)
        with pytest.raises(Killed):
            _evaluate(*inputs, FakeParisV2(), path)
    assert len(submitted) == 1 and not path.exists()

    backend = FakeParisV2()
    backend.service = _Service(submitted)  # as an IBM backend carries its service
    calls = []
    monkeypatch.setattr(execute.Sampler, "run",
                        lambda self, pubs, **kw: calls.append(len(pubs)) or real_run(self, pubs, **kw))
    values = _evaluate(*inputs, backend, path)
    assert backend.service.asked == list(submitted)  # the first batch came from its old job
    assert calls == [2]  # only the second batch was submitted
    assert values.shape == (4, WIDTH) and np.all(np.abs(values) <= 1)


def test_failed_jobs_are_submitted_again():
    class Job:
        def status(self):
            return "ERROR"

    backend = FakeParisV2()
    backend.service = _Service({"j": Job()})
    assert execute.attach(backend, "j") is None
    assert execute.attach(FakeParisV2(), "j") is None  # local jobs die with their process


def test_real_backends_run_one_evaluation_in_a_batch(monkeypatch):
    opened = []

    class Batch:
        def __init__(self, backend):
            opened.append(backend)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            opened.append("closed")

    monkeypatch.setattr(execute, "Batch", Batch)
    device = object()
    with execute.batch_mode(device) as mode:
        assert isinstance(mode, Batch)
    assert opened == [device, "closed"]
    with execute.batch_mode(FakeParisV2()) as mode:
        assert mode is None


def _service_raising(err):
    def service(**kwargs):
        raise err
    return service


def test_no_network_is_reported_as_such_without_the_token(monkeypatch):
    token = "SECRET-TOKEN-1234567890abcdef"
    try:
        raise requests.exceptions.ConnectionError(f"Max retries exceeded, token={token}")
    except requests.exceptions.ConnectionError as cause:
        err = RuntimeError("check that you are using a valid API token")
        err.__cause__ = cause
    monkeypatch.setattr(backends, "QiskitRuntimeService", _service_raising(err))
    with pytest.raises(DeviceError) as info:
        backends.get_backend("ibm_brisbane", token=token)
    message = str(info.value)
    assert "cannot be reached" in message and "network" in message
    assert token not in message and info.value.__cause__ is None


def test_refused_account_says_so_and_hides_the_token(monkeypatch):
    token = "SECRET-TOKEN-abcdef1234567890"
    monkeypatch.setattr(backends, "QiskitRuntimeService",
                        _service_raising(ValueError(f"Unable to authenticate {token}")))
    with pytest.raises(DeviceError, match="refused the account") as info:
        backends.get_backend("ibm_brisbane", token=token)
    assert token not in str(info.value)


def test_a_malformed_instance_crn_is_named_before_the_service_is_asked(monkeypatch, capsys):
    """Hostile case 11: qiskit-ibm-runtime's own CRN parser failed, read as a refusal."""
    asked = []
    monkeypatch.setattr(backends, "QiskitRuntimeService", lambda **kw: asked.append(kw))
    with pytest.raises(ConfigError, match="not a complete IBM Cloud CRN"):
        backends.get_backend("ibm_brisbane", token="t", instance="crn:v1:fake",
                             channel="ibm_quantum_platform")
    assert not asked
    good = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::"
    backends.check_instance(good)  # complete: passed on
    backends.check_instance("my-instance")  # a name, not a CRN
    from convert import evaluate
    assert evaluate.main(["--run", "R", "--backend", "ibm_brisbane", "--out", "O",
                          "--instance", "crn:v1:fake"]) == 2
    assert "not a complete IBM Cloud CRN" in capsys.readouterr().err
