"""Backend lookup: names, fake backends, IBM credentials (no network)."""

import pytest
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime.accounts.exceptions import AccountNotFoundError
from qiskit_ibm_runtime.fake_provider import FakeParisV2

import convert.backends as backends
from convert.backends import StatevectorBackend, fake_backend_classes, get_backend
from tfq_ssl.errors import ConfigError

SECRET = "not-a-real-token-0123456789"


def test_statevector_and_fake_names():
    assert isinstance(get_backend("statevector"), StatevectorBackend)
    assert isinstance(get_backend("fake_paris"), FakeParisV2)
    assert isinstance(get_backend("Fake_Paris"), FakeParisV2)
    assert {"fake_paris", "fake_sherbrooke", "fake_manila"} <= set(fake_backend_classes())


def test_the_reduced_noise_model_gives_the_same_counts_as_the_full_one():
    # Errors of gates a circuit never applies cannot change its counts: the same
    # simulator seed gives the same counts with the model reduced to the used qubits.
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    backend = get_backend("fake_manila")
    circuit = QuantumCircuit(2)
    circuit.rx(0.7, 0)
    circuit.ry(1.1, 1)
    circuit.cx(0, 1)
    circuit.rx(0.4, 1)
    circuit.measure_all()
    isa = transpile(circuit, backend, initial_layout=[1, 2], seed_transpiler=0)
    full = backends._device_noise_model(backend)
    reduced = backends.local_noise_model(backend, {1, 2})
    assert len(reduced.noise_qubits) == 2 < len(full.noise_qubits)
    counts = [AerSimulator(noise_model=model).run(isa, shots=4000, seed_simulator=5).result()
              .get_counts() for model in (full, reduced)]
    assert counts[0] == counts[1]
    ideal = AerSimulator().run(isa, shots=4000, seed_simulator=5).result().get_counts()
    assert counts[0] != ideal  # the noise the reduced model keeps is there


def test_unknown_backend_lists_the_options():
    with pytest.raises(ConfigError, match="unknown backend 'paris'") as info:
        get_backend("paris")
    message = str(info.value)
    assert "'statevector'" in message and "fake_paris" in message and "'ibm_'" in message


def test_unknown_fake_backend_lists_fake_backends():
    with pytest.raises(ConfigError, match="unknown fake backend 'fake_nowhere'.*fake_paris"):
        get_backend("fake_nowhere")


def test_empty_backend_name_is_a_user_error():
    with pytest.raises(ConfigError, match="backend name must be a non-empty string"):
        get_backend("")


class _NoAccountService:
    def __init__(self, **kwargs):
        raise AccountNotFoundError(
            "Unable to find account. Please make sure an account with the channel name "
            "'ibm_quantum_platform' is saved."
        )


class _FakeService:
    calls: list = []

    def __init__(self, **kwargs):
        _FakeService.calls.append(kwargs)

    def backend(self, name):
        if name != "ibm_test":
            raise QiskitBackendNotFoundError("No backend matches the criteria.")
        return FakeParisV2()

    def backends(self):
        return [FakeParisV2()]


def test_missing_credentials_says_what_to_do(monkeypatch):
    monkeypatch.setattr(backends, "QiskitRuntimeService", _NoAccountService)
    with pytest.raises(RuntimeError) as info:
        get_backend("ibm_brisbane")
    message = str(info.value)
    assert "QiskitRuntimeService.save_account(" in message and "QISKIT_IBM_TOKEN" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_credentials_are_passed_through_and_never_echoed(monkeypatch):
    monkeypatch.setattr(backends, "QiskitRuntimeService", _FakeService)
    _FakeService.calls.clear()
    backend = get_backend("ibm_test", token=SECRET, instance="crn:v1:bluemix:public:quantum-computing:us-east:a/acct:inst::", channel="ibm_cloud")
    assert isinstance(backend, FakeParisV2)
    assert _FakeService.calls == [{"channel": "ibm_cloud", "token": SECRET, "instance": "crn:v1:bluemix:public:quantum-computing:us-east:a/acct:inst::"}]
    with pytest.raises(ConfigError, match="no backend 'ibm_nowhere'.*fake_paris") as info:
        get_backend("ibm_nowhere", token=SECRET)
    assert SECRET not in str(info.value)


def test_saved_account_is_used_without_token(monkeypatch):
    monkeypatch.setattr(backends, "QiskitRuntimeService", _FakeService)
    _FakeService.calls.clear()
    get_backend("ibm_test")
    assert _FakeService.calls == [{"channel": None, "token": None, "instance": None}]
