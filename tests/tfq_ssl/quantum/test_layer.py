import tfq_ssl  # noqa: F401
import cirq
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_quantum as tfq
import tf_keras

from tests.helpers import finite_difference_gradients
from tfq_ssl.quantum import circuits
from tfq_ssl.quantum import gate_angles
from tfq_ssl.quantum.layer import QuantumRepresentation, resolved_circuit


def cirq_expectations(circuit, qubits, input_symbols, weight_symbols, angles, weights):
    """⟨Z_k⟩ of every row in float64 with Cirq: the reference for all checks."""
    out = []
    for row in np.atleast_2d(angles):
        values = {**dict(zip(input_symbols, row)), **dict(zip(weight_symbols, weights))}
        state = cirq.final_state_vector(
            cirq.resolve_parameters(circuit, values), qubit_order=qubits, dtype=np.complex128
        )
        probs = np.abs(state.reshape([2] * len(qubits))) ** 2
        out.append([
            probs.take(0, axis=k).sum() - probs.take(1, axis=k).sum() for k in range(len(qubits))
        ])
    return np.array(out)


def layer_gradients(layer, angles, cotangent):
    x = tf.constant(angles, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        scalar = tf.reduce_sum(out * cotangent)
    gx, gw = tape.gradient(scalar, [x, layer.ansatz_weights])
    return out.numpy(), gx.numpy(), gw.numpy()


def reference(layer, angles, cotangent):
    circuit = layer.circuit
    args = (circuit, layer.qubits, layer.input_symbols, layer.weight_symbols)
    weights = layer.ansatz_weights.numpy().astype(np.float64)
    fn = lambda a, w: float(np.sum(cirq_expectations(*args, a, w) * cotangent))  # noqa: E731
    expectations = cirq_expectations(*args, angles, weights)
    return (expectations, *finite_difference_gradients(fn, angles.astype(np.float64), weights))


CASES = [
    (diff, ansatz, width, 2 if ansatz == "ring" else 3)
    for diff in ("adjoint", "parameter_shift", "statevector")
    for ansatz in circuits.ANSATZE
    for width in (2, 4)
] + [(diff, "ring", 8, 2) for diff in ("adjoint", "parameter_shift", "statevector", "tensornet")]
CASES += [("tensornet", "ring", 2, 2), ("tensornet", "ring", 4, 3)]
AUTODIFF_ENGINES = ("statevector", "tensornet")


@pytest.mark.parametrize("differentiator,ansatz,width,layers", CASES)
def test_gradients_match_finite_differences(differentiator, ansatz, width, layers):
    """"statevector" and "tensornet" are engines differentiated by TF autodiff."""
    rng = np.random.default_rng(width)
    options = (dict(engine=differentiator) if differentiator in AUTODIFF_ENGINES
               else dict(differentiator=differentiator))
    layer = QuantumRepresentation(width, layers, ansatz=ansatz, **options)
    batch = 2
    angles = rng.uniform(0, np.pi, (batch, width))
    layer.build((None, width))
    layer.ansatz_weights.assign(rng.uniform(-np.pi, np.pi, layer.ansatz_weights.shape))
    cotangent = rng.normal(size=(batch, width))
    out, gx, gw = layer_gradients(layer, angles, cotangent)
    ref_out, ref_gx, ref_gw = reference(layer, angles, cotangent)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    np.testing.assert_allclose(gx, ref_gx, atol=1e-3)
    np.testing.assert_allclose(gw, ref_gw, atol=1e-3)


def test_shift_rules_are_exact_including_controlled_rotations():
    """Four-term rule for controlled rotations (generator eigenvalues 0, ±1/2) and
    two-term rule for rotations, with affine angles, against finite differences."""
    import sympy

    q0, q1 = cirq.LineQubit.range(2)
    a = sympy.Symbol("a")
    circuit = cirq.Circuit(
        cirq.ry(0.7).on(q0),
        cirq.ry(2 * a + 0.3).on(q1).controlled_by(q0),
        cirq.rx(-a / 2).on(q1),
    )
    occurrences = gate_angles.split_symbol_occurrences(circuit, [a])
    assert occurrences.controlled.tolist() == [True, False]
    shifts, terms = occurrences.shift_terms()
    assert shifts.shape == (4 + 2, 2)

    def z1(c, values):
        state = cirq.final_state_vector(cirq.resolve_parameters(c, values),
                                        qubit_order=[q0, q1], dtype=np.complex128)
        return float(np.sum(np.abs(state[[0, 2]]) ** 2) - np.sum(np.abs(state[[1, 3]]) ** 2))

    value = 1.1
    angles = occurrences.angles([value])
    shift_rule = sum(
        terms[t, 0] * z1(occurrences.circuit, dict(zip(occurrences.symbols, angles + shifts[t])))
        for t in range(len(shifts))
    )
    fd = (z1(circuit, {a: value + 1e-6}) - z1(circuit, {a: value - 1e-6})) / 2e-6
    assert abs(shift_rule - fd) < 1e-6
    with pytest.raises(ValueError, match="decompose_controlled_rotations"):
        occurrences.shift_terms(four_term=False)


def test_exact_parameter_shift_runs_one_shifted_circuit_per_term():
    """2 circuits per rotation, 4 per CRX: 112 per row at W=8, L=2 (TFQ's own
    ParameterShift on the decomposed circuit pads to 160 of a costlier circuit)."""
    layer = QuantumRepresentation(8, 2, differentiator="parameter_shift")
    assert layer.executed_circuit == layer.circuit  # CRX undecomposed on TFQ
    assert layer.executor.num_shifted_circuits == 2 * 8 + 2 * 16 + 4 * 16


def test_naive_tfq_parameter_shift_is_biased_on_crx():
    """Regression: TFQ's two-term rule on the undecomposed CRX fails the same check."""
    rng = np.random.default_rng(1)
    layer = QuantumRepresentation(4, 2, differentiator="parameter_shift")
    angles = rng.uniform(0, np.pi, (2, 4))
    layer.build((None, 4))
    layer.ansatz_weights.assign(rng.uniform(-np.pi, np.pi, layer.ansatz_weights.shape))
    cotangent = rng.normal(size=(2, 4))
    _, _, ref_gw = reference(layer, angles, cotangent)

    naive = tfq.layers.Expectation(differentiator=tfq.differentiators.ParameterShift())
    names = [str(s) for s in layer.symbols]
    values = tf.Variable(np.concatenate(
        [angles, np.tile(layer.ansatz_weights.numpy(), (2, 1))], axis=1).astype(np.float32))
    with tf.GradientTape() as tape:
        out = naive(tfq.convert_to_tensor([layer.circuit] * 2), symbol_names=names,
                    symbol_values=values, operators=circuits.readout_operators(layer.qubits))
        scalar = tf.reduce_sum(out * cotangent)
    naive_gw = tape.gradient(scalar, values).numpy()[:, 4:].sum(axis=0)
    assert np.max(np.abs(naive_gw - ref_gw)) > 1e-2
    _, _, exact_gw = layer_gradients(layer, angles, cotangent)
    assert np.max(np.abs(exact_gw - ref_gw)) < 1e-3


SAMPLED_ENGINES = ["tfq", "statevector"]


@pytest.mark.parametrize("engine", SAMPLED_ENGINES)
def test_sampled_expectations_have_binomial_statistics(engine):
    shots, rows = 100, 600
    layer = QuantumRepresentation(2, 2, differentiator="parameter_shift", shots=shots,
                                  engine=engine)
    angles = np.tile([[0.7, 2.1]], (rows, 1))
    layer.build((None, 2))
    # Fixed weights (not the random init), so <Z> stays away from ±1 where the
    # estimates' distribution is skewed; TFQ's sampler cannot be seeded.
    layer.ansatz_weights.assign(np.linspace(-1.2, 1.3, layer.ansatz_weights.shape[0]))
    exact = cirq_expectations(layer.circuit, layer.qubits, layer.input_symbols,
                              layer.weight_symbols, angles[:1], layer.ansatz_weights.numpy())[0]
    assert np.all(np.abs(exact) < 0.9)
    samples = layer(tf.constant(angles, tf.float32)).numpy()
    sigma = np.sqrt((1 - exact**2) / shots)
    # False-failure rate below 1e-4 for any sampler seed: the mean of each of the two
    # qubits is off by 4.5 standard errors with probability 6.8e-6 (two-sided normal),
    # and the sample std of 600 rows is off by 15 % (5.2 of its 2.9 % standard errors)
    # with probability < 1e-6.
    assert np.all(np.abs(samples.mean(axis=0) - exact) < 4.5 * sigma / np.sqrt(rows))
    np.testing.assert_allclose(samples.std(axis=0), sigma, rtol=0.15)
    # estimates live on the N-shot grid 2·count/N − 1
    np.testing.assert_allclose((samples + 1) * shots / 2, np.round((samples + 1) * shots / 2),
                               atol=1e-3)


@pytest.mark.parametrize("engine", SAMPLED_ENGINES)
def test_sampled_gradients_are_unbiased(engine):
    shots, rows = 100, 400
    rng = np.random.default_rng(3)
    layer = QuantumRepresentation(2, 1, differentiator="parameter_shift", shots=shots,
                                  engine=engine)
    layer.build((None, 2))
    angles = np.tile(rng.uniform(0, np.pi, (1, 2)), (rows, 1))
    cotangent = np.tile([[1.0, -0.5]], (rows, 1))
    _, gx, gw = layer_gradients(layer, angles, cotangent)
    _, ref_gx, ref_gw = reference(layer, angles[:1], cotangent[:1])
    np.testing.assert_allclose(gx.mean(axis=0), ref_gx[0], atol=0.05)
    np.testing.assert_allclose(gw / rows, ref_gw, atol=0.05)


def test_statevector_sampled_gradient_mean_matches_exact_gradient():
    """Sampled parameter shift on the statevector engine: per-row gradients scatter
    with the shot noise of their 2 x (occurrences) shifted N-shot estimates, and their
    mean over many identical rows is the exact gradient (CRX included, through its
    decomposition), with the variance of two-term parameter shift."""
    shots, rows, width = 100, 2000, 3
    rng = np.random.default_rng(5)
    layer = QuantumRepresentation(width, 2, differentiator="parameter_shift", shots=shots,
                                  engine="statevector")
    layer.build((None, width))
    layer.ansatz_weights.assign(rng.uniform(-np.pi, np.pi, layer.ansatz_weights.shape))
    angles = np.tile(rng.uniform(0, np.pi, (1, width)), (rows, 1))
    cotangent = np.tile(rng.normal(size=(1, width)), (rows, 1))
    _, gx, gw = layer_gradients(layer, angles, cotangent)
    exact = QuantumRepresentation(width, 2, engine="statevector")
    exact.build((None, width))
    exact.ansatz_weights.assign(layer.ansatz_weights)
    _, ref_gx, ref_gw = layer_gradients(exact, angles[:1], cotangent[:1])
    assert np.all(gx.std(axis=0) > 0.01)  # really sampled, row by row
    # each input symbol has one occurrence: Var = Σ_k c_k² (σ₊² + σ₋²)/4 ≤ Σ c_k²/(2N)
    bound = np.sqrt(np.sum(cotangent[0] ** 2) / (2 * shots))
    assert np.all(gx.std(axis=0) < 1.1 * bound)
    np.testing.assert_allclose(gx.mean(axis=0), ref_gx[0], atol=5 * bound / np.sqrt(rows))
    np.testing.assert_allclose(gw / rows, ref_gw, atol=0.03)


def test_statevector_sampled_layer_draws_fresh_shots_in_tf_function():
    layer = QuantumRepresentation(2, 1, differentiator="parameter_shift", shots=10,
                                  engine="statevector")
    layer.build((None, 2))
    x = tf.constant([[0.3, 1.9]] * 64, tf.float32)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
            total = tf.reduce_sum(out)
        return out, tape.gradient(total, x)

    (out_a, grad_a), (out_b, grad_b) = step(), step()
    assert out_a.shape == (64, 2) and grad_a.shape == (64, 2)
    assert np.any(out_a.numpy() != out_b.numpy())
    assert np.any(grad_a.numpy() != grad_b.numpy())


def test_parameter_counts_and_symbols():
    layer = QuantumRepresentation(8, 2)
    layer.build((None, 8))
    assert layer.count_params() == 32
    assert [str(s) for s in layer.weight_symbols] == [f"theta_{i:02d}" for i in range(32)]
    all_to_all = QuantumRepresentation(8, 3, ansatz="all_to_all")
    all_to_all.build((None, 8))
    assert all_to_all.count_params() == 32


def test_weight_initialisation_scale():
    tf_keras.utils.set_random_seed(0)
    layer = QuantumRepresentation(16, 8)
    layer.build((None, 16))
    assert abs(np.std(layer.ansatz_weights.numpy()) - 0.25) < 0.05


def test_resolved_circuit_matches_layer():
    layer = QuantumRepresentation(3, 2)
    angles = np.array([[0.1, 1.2, 2.3]], np.float32)
    out = layer(angles).numpy()[0]
    state = cirq.final_state_vector(resolved_circuit(layer, angles[0]), qubit_order=layer.qubits)
    expected = [cirq.Z(q).expectation_from_state_vector(
        state, {q: i for i, q in enumerate(layer.qubits)}).real for q in layer.qubits]
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize(
    "options",
    [dict(differentiator="parameter_shift"), dict(engine="statevector"), dict(engine="tensornet")],
)
def test_statevectors_match_cirq(options):
    layer = QuantumRepresentation(3, 1, **options)
    angles = np.array([[0.3, 0.2, 2.0], [1.0, 0.5, 0.1]], np.float32)
    states = layer.statevectors(angles).numpy()
    for row, state in zip(angles, states):
        ref = cirq.final_state_vector(resolved_circuit(layer, row), qubit_order=layer.qubits)
        assert abs(np.vdot(ref, state)) ** 2 > 1 - 1e-5


def _toy_model(**kwargs):
    return tf_keras.Sequential([
        tf_keras.Input((5,)),
        tf_keras.layers.Dense(3, name="compression"),
        QuantumRepresentation(3, 1, name="qnn", **kwargs),
        tf_keras.layers.Dense(1, name="head"),
    ])


@pytest.mark.parametrize("fmt", ["weights", "keras"])
def test_save_and_reload_give_identical_outputs(tmp_path, fmt):
    model = _toy_model()
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    expected = model(x).numpy()
    if fmt == "weights":
        path = str(tmp_path / "ckpt")
        model.save_weights(path)
        restored = _toy_model()
        restored.load_weights(path)
    else:
        path = str(tmp_path / "model.keras")
        model.save(path)
        restored = tf_keras.models.load_model(path)
        assert restored.get_layer("qnn").get_config()["width"] == 3
    np.testing.assert_allclose(restored(x).numpy(), expected, atol=1e-6)


def test_fit_learns_through_the_circuit():
    tf_keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 5)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(5, 1))).astype(np.float32)
    model = _toy_model()
    before = model.get_layer("compression").kernel.numpy().copy()
    model.compile(optimizer=tf_keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] <= 0.5 * losses[0]
    # the Dense layer in front of the circuit learned too: gradients crossed it
    assert np.max(np.abs(model.get_layer("compression").kernel.numpy() - before)) > 0.05


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(width=0, layers=1), "width"),
        (dict(width=2, layers=-1), "layers"),
        (dict(width=2, layers=1, ansatz="ladder"), "ansatz"),
        (dict(width=2, layers=1, differentiator="finite"), "differentiator"),
        (dict(width=2, layers=1, shots=0, differentiator="parameter_shift"), "shots"),
        (dict(width=2, layers=1, shots=100), "adjoint"),
        (dict(width=2, layers=1, engine="gpu"), "engine must be one of"),
        (dict(width=2, layers=1, engine="tensornet", shots=10,
              differentiator="parameter_shift"), "engine='statevector' for sampled"),
        (dict(width=4, layers=1, engine="tensornet", ansatz="all_to_all"), "all-to-all"),
        (dict(width=4, layers=4, engine="tensornet"), "at most layers=3.*got layers=4"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantumRepresentation(**kwargs)


def test_wrong_input_width_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 4\)"):
        QuantumRepresentation(4, 1)(tf.zeros((2, 3)))


def _density_matrix_expectations(layer, angles, noise):
    """⟨Z_k⟩ of the depolarised circuit by Cirq's density-matrix simulator (reference)."""
    values = {**dict(zip(layer.input_symbols, angles)), **layer.symbol_values()}
    circuit = cirq.resolve_parameters(layer.executed_circuit, values)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
        circuit, qubit_order=layer.qubits).final_density_matrix
    return [cirq.Z(q).expectation_from_density_matrix(
        rho, {q: i for i, q in enumerate(layer.qubits)}).real for q in layer.qubits]


def test_noisy_layer_matches_density_matrix_and_has_gradients():
    layer = QuantumRepresentation(2, 1, differentiator="parameter_shift", noise=0.05,
                                  noise_trajectories=4000)
    angles = np.array([[0.4, 2.0]], np.float32)
    layer.build((None, 2))
    expected = _density_matrix_expectations(layer, angles[0], 0.05)
    exact = layer.statevectors(angles)  # noise-free states are still available
    assert exact.shape == (1, 4)
    out, gx, gw = layer_gradients(layer, angles, np.ones((1, 2)))
    np.testing.assert_allclose(out[0], expected, atol=0.05)
    noiseless = QuantumRepresentation(2, 1, differentiator="parameter_shift")
    noiseless.build((None, 2))
    noiseless.ansatz_weights.assign(layer.ansatz_weights)
    # depolarising noise contracts the Bloch vector
    assert np.all(np.abs(expected) < np.abs(noiseless(angles).numpy()[0]) + 1e-6)
    # parameter shift stays exact in expectation under depolarising noise
    weights = layer.ansatz_weights.numpy().astype(np.float64)
    ref_gw = []
    for i in range(len(weights)):
        shifted = []
        for sign in (1, -1):
            w = weights.copy()
            w[i] += sign * 1e-4
            layer.ansatz_weights.assign(w)
            shifted.append(sum(_density_matrix_expectations(layer, angles[0], 0.05)))
        ref_gw.append((shifted[0] - shifted[1]) / 2e-4)
    layer.ansatz_weights.assign(weights)
    np.testing.assert_allclose(gw, ref_gw, atol=0.08)


@pytest.mark.parametrize("kwargs,match", [
    (dict(noise=1.5, differentiator="parameter_shift"), "noise"),
    (dict(noise=0.01), "parameter_shift"),
    (dict(noise=0.01, differentiator="parameter_shift", noise_trajectories=0), "noise_trajectories"),
])
def test_bad_noise_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantumRepresentation(2, 1, **kwargs)


def test_config_writes_engine_and_reads_legacy_backend_key():
    """.keras files saved before the rename carry ``backend``; it still loads."""
    tf_keras.utils.set_random_seed(0)
    layer = QuantumRepresentation(3, 1, engine="statevector", name="qnn")
    config = layer.get_config()
    assert config["engine"] == "statevector" and "backend" not in config
    legacy = dict(config)
    legacy["backend"] = legacy.pop("engine")
    restored = QuantumRepresentation.from_config(legacy)
    assert restored.engine == "statevector"
    assert restored.get_config() == config


def test_legacy_keras_file_with_backend_key_loads(tmp_path):
    tf_keras.utils.set_random_seed(0)
    model = _toy_model(engine="statevector")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    expected = model(x).numpy()
    path = str(tmp_path / "model.keras")
    model.save(path)
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    qnn = next(l for l in config["config"]["layers"] if l["config"]["name"] == "qnn")
    qnn["config"]["backend"] = qnn["config"].pop("engine")
    files["config.json"] = json.dumps(config).encode()
    legacy = str(tmp_path / "legacy.keras")
    with zipfile.ZipFile(legacy, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    restored = tf_keras.models.load_model(legacy)
    assert restored.get_layer("qnn").engine == "statevector"
    np.testing.assert_allclose(restored(x).numpy(), expected, atol=1e-6)
