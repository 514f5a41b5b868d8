"""Backends a converted circuit can run on: exact, fake (noisy, local) or IBM hardware.

``get_backend(name)`` understands three kinds of name:

* ``"statevector"`` — exact expectations from ``qiskit.quantum_info.Statevector``,
  no shots and no noise;
* ``"fake_<device>"`` — a snapshot of an IBM device from
  ``qiskit_ibm_runtime.fake_provider`` (``"fake_paris"`` → ``FakeParisV2``), run
  locally on qiskit-aer with the snapshot's noise model;
* ``"ibm_<device>"`` / ``"ibmq_<device>"`` — a real device through
  ``QiskitRuntimeService``, from a saved account or explicit credentials.

This module reads no environment variables and never prints or stores a token.
"""

from __future__ import annotations

import copy
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from qiskit.providers import BackendV2
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime import QiskitRuntimeService
from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2
from qiskit_ibm_runtime.accounts.exceptions import AccountNotFoundError

from tfq_ssl.errors import ConfigError, DeviceError
from tfq_ssl.quantum.device_noise import fake_backend_classes

STATEVECTOR = "statevector"
REAL_PREFIXES = ("ibm_", "ibmq_")


@dataclass(frozen=True)
class StatevectorBackend:
    """Marker for exact, shot-free simulation (no coupling map, no noise)."""

    name: str = STATEVECTOR


Backend = BackendV2 | StatevectorBackend


def _options_text() -> str:
    return (
        f"'{STATEVECTOR}', a fake backend ({', '.join(fake_backend_classes())}), "
        f"or a real IBM backend name starting with {' or '.join(map(repr, REAL_PREFIXES))}"
    )


@lru_cache(maxsize=4)
def _device_noise_model(backend: FakeBackendV2) -> Any:
    # The model Runtime's local mode simulates a fake backend with (through
    # AerSimulator.from_backend), built once per backend: ~7 s for fake_fez.
    from qiskit_aer.noise import NoiseModel  # noqa: PLC0415

    return NoiseModel.from_backend(backend)


def local_noise_model(backend: FakeBackendV2, qubits: Iterable[int]) -> Any:
    """The fake backend's noise model, keeping only the errors of gates and readouts that
    act within ``qubits`` (the physical qubits a job's circuits use).

    Aer converts the whole model for every circuit it runs: fake_fez's 156-qubit model
    made a 12-qubit circuit cost 2.6 s where the simulation takes 0.4 s. Errors of gates
    the circuits never apply cannot change a result (tests/convert: the same counts for
    the same simulator seed).
    """
    full = _device_noise_model(backend)
    keep = frozenset(int(q) for q in qubits)
    reduced = copy.copy(full)
    reduced._local_quantum_errors = {  # noqa: SLF001 - NoiseModel has no public filter
        name: {q: e for q, e in by_qubits.items() if set(q) <= keep}
        for name, by_qubits in full._local_quantum_errors.items()}  # noqa: SLF001
    reduced._local_readout_errors = {  # noqa: SLF001
        q: e for q, e in full._local_readout_errors.items() if set(q) <= keep}  # noqa: SLF001
    reduced._noise_qubits = set(full._noise_qubits) & keep  # noqa: SLF001
    return reduced


def local_simulator(backend: FakeBackendV2, qubits: Iterable[int]) -> Any:
    """What a job of circuits on ``qubits`` runs on locally: an ``AerSimulator`` with
    ``backend``'s target and its noise model reduced to ``qubits``
    (:func:`local_noise_model`), several times faster than the fake backend itself on
    fake_fez (bench/README.md).

    Aer's shot branching is left off: it was 1.5x faster on fake_fez (none on
    fake_paris), but it ignores the simulator seed, so a seeded evaluation gave other
    values on every call."""
    from qiskit_aer import AerSimulator  # noqa: PLC0415

    return AerSimulator.from_backend(backend, noise_model=local_noise_model(backend, qubits))


def is_statevector(backend: Backend) -> bool:
    """Whether ``backend`` is the exact statevector marker."""
    return isinstance(backend, StatevectorBackend)


def _network_cause(err: BaseException) -> BaseException | None:
    """The network failure somewhere in ``err``'s chain of causes, if there is one."""
    import requests  # noqa: PLC0415 - qiskit-ibm-runtime's own HTTP client

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            ConnectionError, TimeoutError, socket.gaierror)):
            return err
        err = err.__cause__ or err.__context__
    return None


def _service_error(name: str, err: BaseException, token: str | None) -> DeviceError:
    """One clear message for a failed connection to IBM Quantum; never holds the token."""
    network = _network_cause(err)
    if network is not None:
        text = (f"backend {name!r}: IBM Quantum cannot be reached ({type(network).__name__}); "
                "this is a network problem, not a token problem. Check the connection (or "
                "proxy) and rerun; results already written are kept.")
    else:
        detail = " ".join(str(err).split())[:300]
        text = (f"backend {name!r}: IBM Quantum refused the account ({type(err).__name__}: "
                f"{detail}). Check the token (QISKIT_IBM_TOKEN or the saved account), "
                "--instance and --channel.")
    if token:
        text = text.replace(token, "***")
    return DeviceError(text)


def check_instance(instance: str | None) -> None:
    """Refuse an ``--instance`` CRN that qiskit-ibm-runtime cannot parse.

    The service reads the region from the CRN's sixth field; a shorter CRN made it fail
    inside its own parser (``'NoneType' object has no attribute 'group'``) before any
    request, which read as if IBM Quantum had refused the account.

    Raises:
        ConfigError: ``instance`` starts with ``crn:`` but is not a complete CRN.
    """
    if instance is not None and instance.startswith("crn:") and instance.count(":") < 9:
        raise ConfigError(
            f"--instance {instance!r} is not a complete IBM Cloud CRN (crn:v1:bluemix:public:"
            "quantum-computing:REGION:a/ACCOUNT:INSTANCE::, ten fields); copy it from the "
            "instance's page on IBM Cloud, or give the instance's name.")


def get_backend(
    name: str,
    *,
    token: str | None = None,
    instance: str | None = None,
    channel: str | None = None,
) -> Backend:
    """The backend called ``name``.

    Args:
        name: ``"statevector"``, ``"fake_<device>"`` (e.g. ``"fake_paris"``) or a real
            IBM backend name (e.g. ``"ibm_brisbane"``).
        token: IBM Quantum API key; ``None`` uses the account saved with
            ``QiskitRuntimeService.save_account``. Only passed on to the service.
        instance: IBM Cloud instance (CRN or name); ``None`` uses the saved default.
        channel: runtime channel, e.g. ``"ibm_quantum_platform"``; ``None`` uses the
            saved default.

    Returns:
        A :class:`StatevectorBackend` or a ``BackendV2``.

    Raises:
        ConfigError: (a ``ValueError``) the name is unknown, or the service has no
            such backend.
        DeviceError: (a ``RuntimeError``) a real backend was asked for but no IBM
            Quantum account is available, the service cannot be reached, or it
            refused the account.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"backend name must be a non-empty string, got {name!r}.")
    key = name.strip().lower()
    if key == STATEVECTOR:
        return StatevectorBackend()
    if key.startswith("fake_"):
        cls = fake_backend_classes().get(key)
        if cls is None:
            raise ConfigError(f"unknown fake backend {name!r}; available: {_options_text()}.")
        return cls()
    if not key.startswith(REAL_PREFIXES):
        raise ConfigError(f"unknown backend {name!r}; expected {_options_text()}.")
    check_instance(instance)
    try:
        service = QiskitRuntimeService(channel=channel, token=token, instance=instance)
    except AccountNotFoundError:
        # Deliberately not chained: the service's message is enough and never holds a token.
        raise DeviceError(
            f"backend {name!r} needs an IBM Quantum account, and none was found. Save one "
            "once with QiskitRuntimeService.save_account(token=..., instance=..., "
            "set_as_default=True), or pass the token explicitly (the command line reads it "
            "from QISKIT_IBM_TOKEN)."
        ) from None
    except Exception as err:  # noqa: BLE001 - the service wraps network errors in several types
        raise _service_error(name, err, token) from None
    try:
        return service.backend(name)
    except QiskitBackendNotFoundError:
        try:
            available = sorted(b.name for b in service.backends())
        except Exception as err:  # noqa: BLE001
            raise _service_error(name, err, token) from None
        raise ConfigError(
            f"IBM Quantum has no backend {name!r} for this account; available: {available}. "
            f"Local options: {_options_text()}."
        ) from None
    except Exception as err:  # noqa: BLE001
        raise _service_error(name, err, token) from None
