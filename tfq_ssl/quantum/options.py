"""The rules of which quantum-layer options combine, free of TensorFlow and Cirq.

:func:`check_options` is called by :func:`tfq_ssl.quantum.factory.make_executor`
(before it builds anything) and by :func:`tfq_ssl.config.check_model` (before a run
writes anything), so a config is refused with the same rule, and message, as the
layer would refuse it.

What each combination computes (``differentiator`` names a gradient method on TFQ only;
the other engines differentiate by TensorFlow autodiff). Executors are named
``<engine><how the gradient is computed>``:

=========== ============ ======================================= ==========================================
engine      run          ``adjoint``                             ``parameter_shift``
=========== ============ ======================================= ==========================================
tfq         exact        TFQ's adjoint gradient (TFQAdjoint)     exact shift rules on the circuit as built:
                                                                 two-term for RX/RY, four-term for CRX, all
                                                                 shifts in one TFQ call (TFQParameterShift)
tfq         ``shots``    refused                                 TFQ's sampled op and two-term
                                                                 ParameterShift on the decomposed circuit,
                                                                 CRX = RX·CZ·RX·CZ (TFQSampled)
tfq         ``noise``    refused                                 the same on TFQ's noisy backend,
                                                                 trajectories (TFQSampled)
statevector exact        autodiff (StatevectorAutodiff)          autodiff through the decomposed circuit:
                                                                 same unitary, same gradient
statevector ``shots``    refused                                 binomial shots per qubit forward, sampled
                                                                 two-term shifts of the decomposed circuit
                                                                 backward: TFQSampled's statistics
                                                                 (StatevectorSampled)
tensornet   exact        autodiff of the contraction             the same (the option changes nothing)
                         (TensorNetworkAutodiff)
tfq,        ``noise_     the exact engine's gradient on each     as for an exact run, on each trajectory
statevector from``       Pauli trajectory (PauliTrajectories)
=========== ============ ======================================= ==========================================
"""

from __future__ import annotations

from tfq_ssl.checks import check_one_of, check_positive_int
from tfq_ssl.errors import ConfigError

ANSATZE = ("ring", "ring_product", "all_to_all")
DIFFERENTIATORS = ("adjoint", "parameter_shift")
ENGINES = ("tfq", "statevector", "tensornet")
# The tensor-network engine contracts the ring keeping 2·L bonds open, 4**(2·L) numbers
# per batch row; TensorNetworkAutodiff refuses more than DEFAULT_MAX_CUT = 6 bonds.
# Checked here so that a config is refused before a run writes anything, not when the
# model is built (tests/tfq_ssl/quantum/test_tensornet.py ties the two limits).
TENSORNET_MAX_LAYERS = 3
# Where the messages about differentiators send the reader.
TABLE = "what each engine and differentiator computes: the table in tfq_ssl/quantum/options.py"


def check_options(*, ansatz: str, differentiator: str, shots: int | None, engine: str,
                  noise: float, layers: int, prefix: str = "",
                  noise_from: str | None = None) -> None:
    """Raise :class:`ConfigError` for an option, or a combination, no executor supports.

    Args:
        ansatz, differentiator, shots, engine, noise, layers: as for
            :func:`tfq_ssl.quantum.factory.make_executor`.
        prefix: put before every option's name in messages (``"model."`` for configs).
    """
    p = prefix
    check_one_of(f"{p}ansatz", ansatz, ANSATZE)
    check_one_of(f"{p}differentiator", differentiator, DIFFERENTIATORS)
    check_positive_int(f"{p}shots", shots, none_means="exact")
    check_one_of(f"{p}engine", engine, ENGINES)
    check_positive_int(f"{p}layers", layers)
    if shots is not None and differentiator == "adjoint":
        raise ConfigError(
            f"{p}differentiator='adjoint' is exact-only and cannot run with {p}shots="
            f"{shots}; use {p}differentiator='parameter_shift' for sampled runs ({TABLE})."
        )
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ConfigError(f"{p}noise must be a probability in [0, 1), got {noise!r}.")
    if engine == "tensornet" and (shots is not None or ansatz != "ring"):
        raise ConfigError(
            f"{p}engine='tensornet' computes exact expectations of the ring ansatz; "
            f"got {p}shots={shots}, {p}ansatz={ansatz!r}. Use {p}engine='statevector' for "
            "sampled runs or the all-to-all ansatz."
        )
    if engine == "tensornet" and layers > TENSORNET_MAX_LAYERS:
        raise ConfigError(
            f"{p}engine='tensornet' takes at most {p}layers={TENSORNET_MAX_LAYERS} (its "
            "contraction of the ring keeps 2·L bonds open, 4**(2·L) numbers per batch row); "
            f"got {p}layers={layers}. Use {p}engine='statevector' for deeper circuits."
        )
    if noise_from is not None and (noise or shots is not None or engine == "tensornet"):
        raise ConfigError(
            f"{p}noise_from={noise_from!r} runs the device's noise as Pauli trajectories on "
            f"an exact engine, tfq or statevector; it cannot combine with {p}noise, "
            f"{p}shots or {p}engine='tensornet' (got noise={noise}, shots={shots}, "
            f"engine={engine!r}).")
    if noise and (differentiator != "parameter_shift" or engine != "tfq"):
        raise ConfigError(
            f"{p}noise={noise} runs on TFQ's noisy backend, which supports only "
            f"{p}differentiator='parameter_shift' with {p}engine='tfq' ({TABLE})."
        )
