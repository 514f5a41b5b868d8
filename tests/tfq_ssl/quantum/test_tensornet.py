"""Tests of tfq_ssl.quantum.tensornet against the statevector simulator, TFQ and finite differences."""

import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import cirq
import numpy as np
import pytest
import sympy
import tensorflow as tf

from tests.helpers.quantum import (
    assert_gradients_match_finite_differences,
    loss_and_gradients,
    random_values,
    representation_case,
    tfq_expectation,
)
from tfq_ssl.quantum import circuits
from tfq_ssl.quantum.statevector import StatevectorAutodiff
from tfq_ssl.quantum.tensornet import TensorNetworkAutodiff


@pytest.mark.parametrize(
    "width, layers, form",
    [(1, 2, "plain"), (2, 1, "plain"), (2, 3, "plain"), (3, 2, "plain"), (5, 2, "plain"),
     (6, 3, "plain"), (2, 2, "decomposed"), (3, 2, "decomposed"), (5, 1, "decomposed")],
)
def test_expectation_matches_statevector(width, layers, form):
    """The CZ·RX·CZ·RX form of a CRX needs two bonds where CRX needs one: max_cut=8."""
    circuit, qubits, xs, ws = representation_case(width, "ring", form, layers)
    inputs, weights = random_values(width, len(ws), batch=4)
    want = StatevectorAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128).expectation_z(
        inputs, weights
    )
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128, max_cut=8)
    assert sim.max_open_bonds == (0 if width == 1 else 2) * layers * (1 if form == "plain" else 2)
    got = sim.expectation_z(inputs, weights)
    assert got.dtype == tf.float64 and got.shape == (4, width)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


def test_expectation_matches_tfq_at_sixteen_qubits():
    circuit, qubits, xs, ws = representation_case(16, "ring", "plain", layers=2)
    inputs, weights = random_values(16, len(ws), batch=3)
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws)
    values = sim.expectation_z(tf.constant(inputs, tf.float32), tf.constant(weights, tf.float32))
    assert values.dtype == tf.float32
    reference = tfq_expectation(circuit, qubits, xs, ws, inputs, weights)
    np.testing.assert_allclose(values.numpy(), reference, atol=1e-5)


def test_controlled_gate_zoo_on_a_chain_matches_statevector():
    """Every controlled form, either qubit as control, fixed and symbolic, no ring closure."""
    q = cirq.LineQubit.range(4)
    x = circuits.make_symbols("x", 4)
    t = circuits.make_symbols("t", 4)
    circuit = cirq.Circuit(
        [cirq.ry(s).on(qb) for s, qb in zip(x, q)],
        cirq.H(q[1]),
        cirq.CNOT(q[0], q[1]),
        cirq.CNOT(q[2], q[1]),  # control is the later qubit
        cirq.CZ(q[2], q[3]) ** 0.5,
        cirq.rz(2 * t[0] - 0.3).on(q[0]).controlled_by(q[1]),
        cirq.ry(t[1]).on(q[3]).controlled_by(q[2]),
        cirq.rx(t[2] + x[1]).on(q[1]).controlled_by(q[2]),  # per-row angle after entanglers
        cirq.Z(q[2]).controlled_by(q[3]),
        cirq.XPowGate(exponent=0.3).on(q[0]),
        cirq.ry(t[3]).on(q[2]),
    )
    inputs, weights = random_values(4, 4, batch=3)
    want = StatevectorAutodiff(circuit, q, x, t, dtype=tf.complex128).expectation_z(
        inputs, weights
    )
    sim = TensorNetworkAutodiff(circuit, q, x, t, dtype=tf.complex128)
    assert sim.max_open_bonds == 3  # a chain: nothing closes a ring
    np.testing.assert_allclose(sim.expectation_z(inputs, weights).numpy(), want.numpy(), atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("width, form", [(3, "plain"), (4, "decomposed"), (2, "plain")])
def test_gradients_match_finite_differences(width, form):
    circuit, qubits, xs, ws = representation_case(width, "ring", form)
    inputs, weights = random_values(width, len(ws), batch=2)
    coefficients = np.random.default_rng(1).normal(size=(2, width))
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128, max_cut=8)
    assert_gradients_match_finite_differences(sim, inputs, weights, coefficients)


def test_float32_gradients_match_statevector_at_twelve_qubits():
    circuit, qubits, xs, ws = representation_case(12, "ring", "plain")
    inputs, weights = random_values(12, len(ws), batch=4)
    coefficients = np.random.default_rng(2).normal(size=(4, 12)).astype(np.float32)
    args = (inputs.astype(np.float32), weights.astype(np.float32), coefficients)
    want = loss_and_gradients(StatevectorAutodiff(circuit, qubits, xs, ws), *args)
    got = loss_and_gradients(TensorNetworkAutodiff(circuit, qubits, xs, ws), *args)
    for g, w in zip(got, want):
        assert g.dtype == tf.float32
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("jit_compile", (False, True))
def test_runs_in_tf_function_with_unknown_batch(jit_compile):
    circuit, qubits, xs, ws = representation_case(4, "ring", "plain")
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws)
    weights = tf.Variable(tf.constant(random_values(4, len(ws))[1], tf.float32))

    @tf.function(
        input_signature=[tf.TensorSpec([None, 4], tf.float32)], jit_compile=jit_compile
    )
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = sim.expectation_z(x, weights)
            total = tf.reduce_sum(out)
        return out, tape.gradient(total, [x, weights])

    for batch in (1, 5):
        inputs = tf.constant(random_values(4, len(ws), batch=batch)[0], tf.float32)
        out, (gx, gw) = run(inputs)
        want = StatevectorAutodiff(circuit, qubits, xs, ws).expectation_z(inputs, weights)
        np.testing.assert_allclose(out.numpy(), want.numpy(), atol=1e-5)
        assert gx.shape == (batch, 4) and gw.shape == weights.shape


# ----------------------------------------------------------------------------------
# Circuits it refuses, with messages that say what to do
# ----------------------------------------------------------------------------------


def test_all_to_all_ansatz_is_refused():
    circuit, qubits, xs, ws = representation_case(5, "all_to_all", "plain")
    with pytest.raises(ValueError, match="not neighbours.*statevector backend"):
        TensorNetworkAutodiff(circuit, qubits, xs, ws)


def test_deep_ring_is_refused_unless_max_cut_allows_it():
    circuit, qubits, xs, ws = representation_case(4, "ring", "plain", layers=4)
    with pytest.raises(ValueError, match=r"keeps 8 bonds open \(max_cut=6\).*statevector"):
        TensorNetworkAutodiff(circuit, qubits, xs, ws)
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128, max_cut=8)
    inputs, weights = random_values(4, len(ws), batch=2)
    want = StatevectorAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128)
    np.testing.assert_allclose(
        sim.expectation_z(inputs, weights).numpy(),
        want.expectation_z(inputs, weights).numpy(),
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "operation, message",
    [
        (cirq.SWAP(*cirq.LineQubit.range(2)), "unsupported .*SWAP"),
        (cirq.CCX(*cirq.LineQubit.range(3)), "unsupported .*TOFFOLI"),
        (cirq.IdentityGate(3).on(*cirq.LineQubit.range(3)), None),
    ],
)
def test_other_gates(operation, message):
    q = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(cirq.H(q[0]), operation)
    if message is None:  # identities are dropped
        values = TensorNetworkAutodiff(circuit, q, [], []).expectation_z(
            np.zeros((1, 0), np.float32), np.zeros(0, np.float32)
        )
        np.testing.assert_allclose(values.numpy(), [[0.0, 1.0, 1.0]], atol=1e-6)
        return
    with pytest.raises(ValueError, match=message):
        TensorNetworkAutodiff(circuit, q, [], [])


def test_shared_argument_checks():
    circuit, qubits, xs, ws = representation_case(3, "ring", "plain")
    with pytest.raises(ValueError, match="not in qubits"):
        TensorNetworkAutodiff(circuit, qubits[:2], xs, ws)
    with pytest.raises(ValueError, match="theta_00"):
        TensorNetworkAutodiff(circuit, qubits, xs, ws[1:])
    with pytest.raises(ValueError, match="max_cut"):
        TensorNetworkAutodiff(circuit, qubits, xs, ws, max_cut=0)
    sim = TensorNetworkAutodiff(circuit, qubits, xs, ws)
    inputs, weights = random_values(3, len(ws))
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, 3\)"):
        sim.expectation_z(inputs[:, :2], weights)
    with pytest.raises(ValueError, match=r"weights must have shape \(12,\)"):
        sim.expectation_z(inputs, weights[:-1])
    t = sympy.Symbol("t")
    with pytest.raises(ValueError, match="not affine"):
        TensorNetworkAutodiff(cirq.Circuit(cirq.rx(t**2).on(qubits[0])), qubits, [], [t])


def test_engine_refuses_four_layers_before_building_and_agrees_with_the_simulator():
    """model.engine=tensornet at L = 4 is refused by the option rules (the config check
    and the layer), with the same limit as the simulator's default max_cut: the ring at
    L = 3 builds, at L = 4 the simulator itself would refuse it."""
    from tfq_ssl.errors import ConfigError
    from tfq_ssl.quantum.layer import QuantumRepresentation
    from tfq_ssl.quantum.options import TENSORNET_MAX_LAYERS, check_options

    assert TENSORNET_MAX_LAYERS == 3
    with pytest.raises(ConfigError, match=r"at most model\.layers=3.*got model\.layers=4.*model\.engine='statevector'"):
        check_options(ansatz="ring", differentiator="adjoint", shots=None, engine="tensornet",
                      noise=0.0, layers=4, prefix="model.")
    with pytest.raises(ConfigError, match=r"at most layers=3.*got layers=4"):
        QuantumRepresentation(5, 4, engine="tensornet")
    layer = QuantumRepresentation(5, TENSORNET_MAX_LAYERS, engine="tensornet")
    assert layer.executor.max_open_bonds == 2 * TENSORNET_MAX_LAYERS
    circuit, qubits, xs, ws = representation_case(5, "ring", "plain", TENSORNET_MAX_LAYERS + 1)
    with pytest.raises(ValueError, match="bonds open"):
        TensorNetworkAutodiff(circuit, qubits, xs, ws)
