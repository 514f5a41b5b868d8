"""The one place that decides which executor runs the representation circuit.

Every rule of which options combine (ansatz, differentiator, shots, engine, noise)
is :func:`tfq_ssl.quantum.options.check_options`, which :func:`make_executor`
applies first. Adding an engine means one file implementing
:class:`tfq_ssl.quantum.executor.Executor`, one entry in ``_ENGINES`` and its name
(and rules) in ``options``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import cirq
import sympy

from tfq_ssl.checks import check_positive_int
from tfq_ssl.quantum.circuits import decompose_controlled_rotations
from tfq_ssl.quantum.device_noise import DeviceNoise, pauli_frame
from tfq_ssl.quantum.executor import Executor
from tfq_ssl.quantum.options import DIFFERENTIATORS, ENGINES, check_options
from tfq_ssl.quantum.sampled_statevector import StatevectorSampled
from tfq_ssl.quantum.statevector import StatevectorAutodiff
from tfq_ssl.quantum.tensornet import TensorNetworkAutodiff
from tfq_ssl.quantum.tfq_adjoint import TFQAdjoint
from tfq_ssl.quantum.tfq_sampled import TFQSampled
from tfq_ssl.quantum.tfq_shift import TFQParameterShift
from tfq_ssl.quantum.trajectories import PauliTrajectories

__all__ = ["DIFFERENTIATORS", "ENGINES", "make_executor"]


def _tfq(circuit, qubits, xs, ws, differentiator, shots, noise, noise_trajectories) -> Executor:
    if shots is None and not noise:
        if differentiator == "parameter_shift":
            # Its own shift rules on the circuit as built (four-term for CRX).
            return TFQParameterShift(circuit, qubits, xs, ws)
        return TFQAdjoint(circuit, qubits, xs, ws)
    # TFQ's two-term ParameterShift is exact only on two-eigenvalue generators.
    executed = decompose_controlled_rotations(circuit)
    if noise:
        executed = executed.with_noise(cirq.depolarize(noise))
    return TFQSampled(executed, qubits, xs, ws, circuit, shots, bool(noise), noise_trajectories)


def _statevector(circuit, qubits, xs, ws, differentiator, shots, noise, noise_trajectories) -> Executor:
    if shots is not None:
        # The decomposed circuit: the statistics of TFQ's sampled op with
        # ParameterShift on it, from exact statevectors.
        return StatevectorSampled(decompose_controlled_rotations(circuit), qubits, xs, ws, shots)
    if differentiator == "parameter_shift":
        circuit = decompose_controlled_rotations(circuit)  # same unitary, autodiff either way
    return StatevectorAutodiff(circuit, qubits, xs, ws)


def _tensornet(circuit, qubits, xs, ws, differentiator, shots, noise, noise_trajectories) -> Executor:
    return TensorNetworkAutodiff(circuit, qubits, xs, ws)


_ENGINES: dict[str, Callable[..., Executor]] = {
    "tfq": _tfq,
    "statevector": _statevector,
    "tensornet": _tensornet,
}
assert tuple(_ENGINES) == ENGINES, "options.ENGINES names the engines of this table"


def make_executor(
    circuit: cirq.Circuit,
    qubits: Sequence[cirq.Qid],
    input_symbols: Sequence[sympy.Symbol],
    weight_symbols: Sequence[sympy.Symbol],
    *,
    layers: int,
    ansatz: str = "ring",
    differentiator: str = "adjoint",
    shots: int | None = None,
    engine: str = "tfq",
    noise: float = 0.0,
    noise_trajectories: int = 200,
    device_noise: DeviceNoise | None = None,
) -> Executor:
    """Check how the options combine and build the executor of ``circuit``.

    Args:
        circuit, qubits, input_symbols, weight_symbols: the representation circuit
            as :func:`tfq_ssl.quantum.circuits.representation_circuit` returns it.
        layers: the number of ansatz layers ``circuit`` was built with (the
            tensor-network engine's cost grows as 4**(2·layers); it takes at most 3).
        ansatz: the ansatz ``circuit`` was built with (``"ring"``, ``"ring_product"`` or
            ``"all_to_all"``).
        differentiator: ``"adjoint"`` (exact, analytic runs only) or
            ``"parameter_shift"``: exact four-term shift rule on TFQ's analytic op
            (:class:`~tfq_ssl.quantum.tfq_shift.TFQParameterShift`); TFQ's two-term
            rule on the decomposed circuit for sampled and noisy runs.
        shots: ``None`` for exact expectations, or measurement shots per circuit.
        engine: ``"tfq"`` (TFQ's C++ simulator), ``"statevector"`` (batched
            TensorFlow statevectors, autodiff; with ``shots``, binomial estimates with
            sampled parameter shift, :class:`~tfq_ssl.quantum.sampled_statevector.StatevectorSampled`)
            or ``"tensornet"`` (exact ring contraction, cost linear in the width;
            ring ansatz, L <= 3, exact runs only).
        noise: depolarising probability after every moment (TFQ's noisy backend,
            ``differentiator="parameter_shift"`` only).
        noise_trajectories: trajectories per circuit for exact noisy expectations.
        device_noise: a device's noise (:mod:`tfq_ssl.quantum.device_noise`), run as
            ``noise_trajectories`` Pauli trajectories per row on the exact ``engine``
            (:class:`~tfq_ssl.quantum.trajectories.PauliTrajectories`).

    Returns:
        An :class:`~tfq_ssl.quantum.executor.Executor`.

    Raises:
        ValueError: naming the option (or the combination) that is not supported.
    """
    check_options(ansatz=ansatz, differentiator=differentiator, shots=shots, engine=engine,
                  noise=noise, layers=layers, noise_from=device_noise and device_noise.backend)
    check_positive_int("noise_trajectories", noise_trajectories)
    if device_noise is not None:
        frame, frame_symbols, probs = pauli_frame(circuit, qubits, device_noise)
        inner = _ENGINES[engine](frame, list(qubits), list(input_symbols) + frame_symbols,
                                 list(weight_symbols), differentiator, None, 0.0, 1)
        return PauliTrajectories(inner, probs, *device_noise.readout_affine(),
                                 trajectories=noise_trajectories)
    return _ENGINES[engine](
        circuit, list(qubits), list(input_symbols), list(weight_symbols),
        differentiator, shots, float(noise), noise_trajectories,
    )
