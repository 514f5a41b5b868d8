"""Tests of tfq_ssl.quantum.statevector against Cirq, TFQ and finite differences."""

import tfq_ssl  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import logging

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

WIDTHS = (1, 2, 3, 5)
FORMS = ("plain", "decomposed")


def _cirq_states(circuit, qubits, xs, ws, inputs, weights) -> np.ndarray:
    states = []
    for row in inputs:
        resolver = cirq.ParamResolver(
            {**dict(zip(xs, row)), **dict(zip(ws, weights))}
        )
        result = cirq.Simulator(dtype=np.complex128).simulate(
            cirq.resolve_parameters(circuit, resolver), qubit_order=qubits
        )
        states.append(result.final_state_vector)
    return np.array(states)


def _fidelities(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.sum(np.conj(a) * b, axis=1)) ** 2


# ----------------------------------------------------------------------------------
# States against cirq.Simulator
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("ansatz", circuits.ANSATZE)
@pytest.mark.parametrize("width", WIDTHS)
def test_state_matches_cirq(width, ansatz, form):
    circuit, qubits, xs, ws = representation_case(width, ansatz, form)
    inputs, weights = random_values(width, len(ws))
    sim = StatevectorAutodiff(circuit, qubits, xs, ws)
    state = sim.state(tf.constant(inputs, tf.float32), tf.constant(weights, tf.float32))
    assert state.dtype == tf.complex64
    assert state.shape == (len(inputs), 2**width)
    reference = _cirq_states(circuit, qubits, xs, ws, inputs, weights)
    np.testing.assert_array_less(1 - 1e-6, _fidelities(reference, state.numpy()))


@pytest.mark.parametrize("block_qubits", (2, 3, 4))
@pytest.mark.parametrize("ansatz", circuits.ANSATZE)
def test_state_independent_of_block_size(ansatz, block_qubits):
    circuit, qubits, xs, ws = representation_case(5, ansatz, "plain", layers=3)
    inputs, weights = random_values(5, len(ws))
    sim = StatevectorAutodiff(
        circuit, qubits, xs, ws, dtype=tf.complex128, block_qubits=block_qubits
    )
    state = sim.state(inputs, weights).numpy()
    reference = _cirq_states(circuit, qubits, xs, ws, inputs, weights)
    np.testing.assert_allclose(state, reference, atol=1e-12)


def test_state_is_big_endian():
    qubits = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(cirq.X(qubits[0]), cirq.CNOT(qubits[0], qubits[2]))
    state = StatevectorAutodiff(circuit, qubits, [], []).state(tf.zeros((1, 0)), tf.zeros((0,)))
    np.testing.assert_allclose(state.numpy()[0], np.eye(8)[0b101], atol=1e-7)


def test_gate_zoo_matches_cirq():
    """Every supported gate form, idle qubits, and input angles after entanglers."""
    q = cirq.LineQubit.range(5)
    x0, x1, t0, t1, t2 = sympy.symbols("x_0 x_1 t_0 t_1 t_2")
    circuit = cirq.Circuit(
        cirq.rx(x0).on(q[0]),
        cirq.H(q[1]),
        cirq.ry(2 * t0 + 0.25).on(q[1]),
        cirq.X(q[2]) ** 0.3,
        cirq.S(q[3]),
        cirq.T(q[3]),
        cirq.CNOT(q[0], q[1]),
        cirq.rz(x1 - t1 / 2).on(q[1]),  # an input angle after an entangler
        cirq.CZ(q[1], q[3]),
        cirq.ry(t2).on(q[3]).controlled_by(q[2]),
        cirq.rz(-t0).on(q[0]).controlled_by(q[3]),
        cirq.ControlledGate(cirq.rx(x0 + t2)).on(q[2], q[0]),  # per-row controlled
        cirq.XPowGate(exponent=t1, global_shift=-0.5).on(q[2]),
        cirq.Y(q[0]),
        cirq.Z(q[2]) ** 0.7,
        cirq.CZ(q[0], q[2]) ** 0.5,
        cirq.CNOT(q[3], q[0]) ** 0.5,
        cirq.I(q[1]),
        cirq.rx(0.4).on(q[3]),
        cirq.X(q[1]).controlled_by(q[0]),
    )
    xs, ws = [x0, x1], [t0, t1, t2]
    inputs, weights = np.array([[0.3, 1.7], [2.9, -0.8]]), np.array([0.4, -1.3, 2.2])
    for block_qubits in (2, 3, 5):
        sim = StatevectorAutodiff(
            circuit, q, xs, ws, dtype=tf.complex128, block_qubits=block_qubits
        )
        state = sim.state(inputs, weights).numpy()
        reference = _cirq_states(circuit, q, xs, ws, inputs, weights)
        np.testing.assert_allclose(state, reference, atol=1e-12)


def test_input_angle_only_after_entanglers_matches_cirq():
    """Clusters stay batch-free until an input angle reaches them (data re-uploading)."""
    q = cirq.LineQubit.range(3)
    x, t = sympy.symbols("x t")
    circuit = cirq.Circuit(
        cirq.H(q[0]),
        cirq.CNOT(q[0], q[1]),
        cirq.ry(t).on(q[1]),
        cirq.CZ(q[1], q[2]),
        cirq.rx(x).on(q[0]),
        cirq.ry(t / 3).on(q[2]).controlled_by(q[0]),
        cirq.rz(2 * x).on(q[2]).controlled_by(q[1]),
    )
    inputs, weights = np.array([[0.3], [1.9], [-2.2]]), np.array([0.8])
    for block_qubits in (2, 3):
        sim = StatevectorAutodiff(
            circuit, q, [x], [t], dtype=tf.complex128, block_qubits=block_qubits
        )
        reference = _cirq_states(circuit, q, [x], [t], inputs, weights)
        np.testing.assert_allclose(sim.state(inputs, weights).numpy(), reference, atol=1e-12)
        probabilities = np.abs(reference) ** 2
        bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])[None, :]) & 1
        np.testing.assert_allclose(
            sim.expectation_z(inputs, weights).numpy(), probabilities @ (1 - 2 * bits), atol=1e-12
        )


def test_wide_signed_permutation_run_matches_cirq():
    """A run of CNOT/CZ/X/Z wider than a block is applied as one signed permutation."""
    q = cirq.LineQubit.range(5)
    x = circuits.make_symbols("x", 5)
    t = sympy.Symbol("t")
    circuit = cirq.Circuit(
        [cirq.rx(s).on(qb) for s, qb in zip(x, q)],
        cirq.CNOT(q[0], q[1]),
        cirq.ry(t).on(q[2]).controlled_by(q[3]),
        cirq.CZ(q[1], q[4]),
        cirq.X(q[2]),
        cirq.CNOT(q[4], q[0]),
        cirq.Z(q[3]),
        cirq.CNOT(q[2], q[3]),
        cirq.CZ(q[0], q[2]),
        cirq.ry(-t).on(q[4]),
    )
    inputs, weights = random_values(5, 1)
    sim = StatevectorAutodiff(circuit, q, x, [t], dtype=tf.complex128, block_qubits=3)
    assert any(block.kind == "permutation" for block in sim._blocks)
    reference = _cirq_states(circuit, q, x, [t], inputs, weights)
    np.testing.assert_allclose(sim.state(inputs, weights).numpy(), reference, atol=1e-12)


# ----------------------------------------------------------------------------------
# Expectations against TFQ
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("ansatz", circuits.ANSATZE)
@pytest.mark.parametrize("width", WIDTHS)
def test_expectation_matches_tfq(width, ansatz, form):
    circuit, qubits, xs, ws = representation_case(width, ansatz, form)
    inputs, weights = random_values(width, len(ws), batch=4)
    sim = StatevectorAutodiff(circuit, qubits, xs, ws)
    values = sim.expectation_z(tf.constant(inputs, tf.float32), tf.constant(weights, tf.float32))
    assert values.dtype == tf.float32
    assert values.shape == (4, width)
    reference = tfq_expectation(circuit, qubits, xs, ws, inputs, weights)
    np.testing.assert_allclose(values.numpy(), reference, atol=1e-5)


def test_expectation_matches_tfq_at_twenty_qubits():
    circuit, qubits, xs, ws = representation_case(20, "ring", "plain", layers=1)
    inputs, weights = random_values(20, len(ws), batch=2)
    sim = StatevectorAutodiff(circuit, qubits, xs, ws)
    values = sim.expectation_z(tf.constant(inputs, tf.float32), tf.constant(weights, tf.float32))
    reference = tfq_expectation(circuit, qubits, xs, ws, inputs, weights)
    np.testing.assert_allclose(values.numpy(), reference, atol=1e-5)


def test_expectation_of_separable_circuit():
    """Qubits that never interact stay separate clusters; read-out stays in qubit order."""
    q = cirq.LineQubit.range(4)
    x = circuits.make_symbols("x", 4)
    circuit = cirq.Circuit(
        [cirq.rx(s).on(qb) for s, qb in zip(x, q)], cirq.CNOT(q[3], q[1])
    )
    inputs = np.array([[0.1, 0.7, 1.3, 2.9]])
    values = StatevectorAutodiff(circuit, q, x, [], dtype=tf.complex128).expectation_z(
        inputs, np.zeros(0)
    )
    expected = np.cos(inputs[0]).copy()
    expected[1] = np.cos(inputs[0, 1]) * np.cos(inputs[0, 3])
    np.testing.assert_allclose(values.numpy()[0], expected, atol=1e-12)


# ----------------------------------------------------------------------------------
# Gradients against finite differences
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width, ansatz, form, block_qubits",
    [
        (3, "ring", "plain", None),
        (3, "ring", "decomposed", None),
        (5, "ring", "plain", None),
        (5, "ring", "plain", 2),
        (4, "all_to_all", "plain", None),
        (4, "all_to_all", "plain", 2),  # CNOT ladders become basis permutations
    ],
)
def test_gradients_match_finite_differences(width, ansatz, form, block_qubits):
    circuit, qubits, xs, ws = representation_case(width, ansatz, form)
    inputs, weights = random_values(width, len(ws), batch=2)
    coefficients = np.random.default_rng(1).normal(size=(2, width))
    sim = StatevectorAutodiff(
        circuit, qubits, xs, ws, dtype=tf.complex128, block_qubits=block_qubits
    )
    assert_gradients_match_finite_differences(sim, inputs, weights, coefficients)


def test_float32_gradients_match_float64():
    circuit, qubits, xs, ws = representation_case(4, "ring", "plain")
    inputs, weights = random_values(4, len(ws), batch=3)
    coefficients = np.random.default_rng(2).normal(size=(3, 4))
    exact = StatevectorAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128)
    single = StatevectorAutodiff(circuit, qubits, xs, ws)
    want = loss_and_gradients(exact, inputs, weights, coefficients)
    got = loss_and_gradients(
        single,
        inputs.astype(np.float32),
        weights.astype(np.float32),
        coefficients.astype(np.float32),
    )
    for g, w in zip(got, want):
        assert g.dtype == tf.float32
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-5)


def test_gradients_log_no_complex_to_real_cast_warning():
    """A cast from real to complex has a gradient that casts back and warns ("You are
    casting an input of type complex64 to an incompatible dtype float32") into every
    quantum run's log; the engine builds its complex angles with tf.complex instead."""
    circuit, qubits, xs, ws = representation_case(4, "ring", "plain")
    inputs, weights = random_values(4, len(ws), batch=2)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    tf.get_logger().addHandler(handler)
    try:
        loss_and_gradients(StatevectorAutodiff(circuit, qubits, xs, ws),
                           inputs.astype(np.float32), weights.astype(np.float32),
                           np.ones((2, 4), np.float32))
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [r for r in records if "casting" in r], records


# ----------------------------------------------------------------------------------
# tf.function, XLA, dtypes
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("jit_compile", (False, True))
def test_runs_in_tf_function_with_unknown_batch(jit_compile):
    circuit, qubits, xs, ws = representation_case(4, "ring", "plain")
    sim = StatevectorAutodiff(circuit, qubits, xs, ws)
    inputs, weights = random_values(4, len(ws), batch=5)
    inputs, weights = tf.constant(inputs, tf.float32), tf.constant(weights, tf.float32)

    @tf.function(
        jit_compile=jit_compile,
        input_signature=[
            tf.TensorSpec([None, 4], tf.float32),
            tf.TensorSpec([len(ws)], tf.float32),
        ],
    )
    def step(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            values = sim.expectation_z(x, w)
            loss = tf.reduce_sum(values)
        return values, tape.gradient(loss, [x, w])

    values, (grad_x, grad_w) = step(inputs, weights)
    want_values, (want_x, want_w) = _graph_free(sim, inputs, weights)
    np.testing.assert_allclose(values.numpy(), want_values, atol=1e-5)
    np.testing.assert_allclose(grad_x.numpy(), want_x, atol=1e-4)
    np.testing.assert_allclose(grad_w.numpy(), want_w, atol=1e-4)


def _graph_free(sim, inputs, weights):
    with tf.GradientTape() as tape:
        tape.watch([inputs, weights])
        values = sim.expectation_z(inputs, weights)
        loss = tf.reduce_sum(values)
    grads = tape.gradient(loss, [inputs, weights])
    return values.numpy(), [g.numpy() for g in grads]


def test_complex128_gives_float64():
    circuit, qubits, xs, ws = representation_case(2, "ring", "plain")
    sim = StatevectorAutodiff(circuit, qubits, xs, ws, dtype=tf.complex128)
    inputs, weights = random_values(2, len(ws))
    assert sim.state(inputs, weights).dtype == tf.complex128
    assert sim.expectation_z(inputs, weights).dtype == tf.float64


# ----------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation, name",
    [
        (cirq.SWAP(*cirq.LineQubit.range(2)), "SWAP"),
        (cirq.CCX(*cirq.LineQubit.range(3)), "TOFFOLI"),
        (cirq.FSimGate(0.1, 0.2).on(*cirq.LineQubit.range(2)), "FSim"),
        (cirq.measure(cirq.LineQubit(0), key="m"), "measure"),
        (cirq.PhasedXPowGate(phase_exponent=0.25).on(cirq.LineQubit(0)), "PhasedXPowGate"),
    ],
)
def test_unknown_gate_raises_naming_it(operation, name):
    qubits = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(cirq.H(qubits[0]), operation)
    with pytest.raises(ValueError, match=f"unsupported .*{name}"):
        StatevectorAutodiff(circuit, qubits, [], [])


def test_doubly_controlled_rotation_raises():
    q = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(cirq.rx(0.3).on(q[2]).controlled_by(q[0], q[1]))
    with pytest.raises(ValueError, match="single control"):
        StatevectorAutodiff(circuit, q, [], [])


def test_symbolic_power_gate_raises():
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.Z(q) ** sympy.Symbol("t"))
    with pytest.raises(ValueError, match="symbolic exponent"):
        StatevectorAutodiff(circuit, [q], [], [sympy.Symbol("t")])


def test_unknown_symbol_raises():
    circuit, qubits, xs, ws = representation_case(2, "ring", "plain")
    with pytest.raises(ValueError, match="theta_00"):
        StatevectorAutodiff(circuit, qubits, xs, ws[1:])


def test_non_affine_angle_raises():
    q, t = cirq.LineQubit(0), sympy.Symbol("t")
    with pytest.raises(ValueError, match="not affine"):
        StatevectorAutodiff(cirq.Circuit(cirq.rx(t**2).on(q)), [q], [], [t])


def test_missing_qubit_raises():
    circuit, qubits, xs, ws = representation_case(3, "ring", "plain")
    with pytest.raises(ValueError, match="not in qubits"):
        StatevectorAutodiff(circuit, qubits[:2], xs, ws)


def test_overlapping_symbols_raise():
    circuit, qubits, xs, ws = representation_case(2, "ring", "plain")
    with pytest.raises(ValueError, match="both input_symbols and weight_symbols"):
        StatevectorAutodiff(circuit, qubits, xs, ws + xs[:1])


@pytest.mark.parametrize("dtype", (tf.float32, tf.float64, tf.int32))
def test_bad_dtype_raises(dtype):
    circuit, qubits, xs, ws = representation_case(2, "ring", "plain")
    with pytest.raises(ValueError, match="dtype"):
        StatevectorAutodiff(circuit, qubits, xs, ws, dtype=dtype)


@pytest.mark.parametrize("block_qubits", (1, 0, 2.5, True))
def test_bad_block_qubits_raises(block_qubits):
    circuit, qubits, xs, ws = representation_case(2, "ring", "plain")
    with pytest.raises(ValueError, match="block_qubits"):
        StatevectorAutodiff(circuit, qubits, xs, ws, block_qubits=block_qubits)


def test_wrong_input_shapes_raise():
    circuit, qubits, xs, ws = representation_case(3, "ring", "plain")
    sim = StatevectorAutodiff(circuit, qubits, xs, ws)
    inputs, weights = random_values(3, len(ws))
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, 3\)"):
        sim.expectation_z(inputs[:, :2], weights)
    with pytest.raises(ValueError, match=r"weights must have shape \(12,\)"):
        sim.expectation_z(inputs, weights[:-1])
