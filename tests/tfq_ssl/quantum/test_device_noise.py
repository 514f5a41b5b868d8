"""A fake backend's calibration as noise, run as Pauli trajectories (model.noise_from).

The reference semantics are Cirq's: ``cirq.depolarize(p)`` after each gate, simulated
exactly by ``cirq.DensityMatrixSimulator``, and the readout confusion applied to the
diagonal of the final density matrix.
"""

import numpy as np
import pytest
import tensorflow as tf

import cirq

from tfq_ssl import config_io
from tfq_ssl.config import RunConfig, check_run
from tfq_ssl.errors import ConfigError
from tfq_ssl.quantum import circuits
from tfq_ssl.quantum.device_noise import DeviceNoise, channel_circuit, from_fake_backend, pauli_frame
from tfq_ssl.quantum.factory import make_executor
from tfq_ssl.quantum.layer import QuantumRepresentation
from tfq_ssl.quantum.trajectories import PauliTrajectories

WIDTH, LAYERS = 3, 1
ANGLES = np.array([[0.4, 2.1, 1.3]])


def _noise() -> DeviceNoise:
    # Far noisier than a device, so that a wrong channel shows above the trajectories' error.
    pairs = tuple(((k, (k + 1) % WIDTH), 0.12 + 0.02 * k) for k in range(WIDTH))
    return DeviceNoise("test", tuple(range(WIDTH)), (0.05, 0.08, 0.03), pairs,
                       ((0.02, 0.06), (0.04, 0.01), (0.0, 0.1)))


def _weights(n: int) -> np.ndarray:
    return np.random.default_rng(3).normal(0, 0.8, n)


def _density_matrix_z(noise: DeviceNoise, angles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """⟨Z_k⟩ as read: exact density matrix, then each qubit's readout confusion."""
    circuit, qubits, xs, ws = circuits.representation_circuit(WIDTH, LAYERS, "ring")
    noisy = channel_circuit(circuit, qubits, noise)
    resolver = {**dict(zip(map(str, xs), angles)), **dict(zip(map(str, ws), weights))}
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
        noisy, resolver, qubit_order=qubits).final_density_matrix
    populations = np.real(np.diag(rho)).reshape([2] * WIDTH)
    out = []
    for k, (e0, e1) in enumerate(noise.readout):
        p = populations.sum(axis=tuple(j for j in range(WIDTH) if j != k))  # P(0), P(1)
        read0 = p[0] * (1 - e0) + p[1] * e1
        out.append(2 * read0 - 1)
    return np.array(out)


@pytest.mark.parametrize("engine", ["statevector", "tfq"])
def test_trajectory_mean_matches_the_density_matrix(engine):
    circuit, qubits, xs, ws = circuits.representation_circuit(WIDTH, LAYERS, "ring")
    noise, weights = _noise(), _weights(len(ws))
    executor = make_executor(circuit, qubits, xs, ws, layers=LAYERS, engine=engine,
                             device_noise=noise, noise_trajectories=20000)
    tf.random.set_seed(0)
    z = executor.expectation_z(tf.constant(ANGLES, tf.float32), tf.constant(weights, tf.float32))
    expected = _density_matrix_z(noise, ANGLES[0], weights)
    exact = make_executor(circuit, qubits, xs, ws, layers=LAYERS).expectation_z(
        tf.constant(ANGLES, tf.float32), tf.constant(weights, tf.float32)).numpy()[0]
    # 20000 trajectories: standard error below 0.007 for a ⟨Z⟩ in [-1, 1].
    np.testing.assert_allclose(z.numpy()[0], expected, atol=0.03)
    assert np.abs(exact - expected).max() > 0.1  # the noise is visible: the test can fail


def test_each_site_draws_x_y_z_with_a_third_of_p_each():
    probs = np.array([0.3, 0.0001, 0.6])
    circuit, qubits, xs, ws = circuits.representation_circuit(WIDTH, LAYERS, "ring")
    inner = make_executor(circuit, qubits, xs, ws, layers=LAYERS)
    trajectories = PauliTrajectories(inner, probs, np.ones(WIDTH), np.zeros(WIDTH))
    tf.random.set_seed(0)
    frames = trajectories._frame(60000).numpy().reshape(60000, 3, 2)
    assert set(np.unique(frames)) == {0.0, np.float32(np.pi)}
    kinds = (frames[..., 0] > 0) * 1 + (frames[..., 1] > 0) * 2  # X = 1, Z = 2, Y = 3
    for site, p in enumerate(probs):
        counts = np.bincount(kinds[:, site], minlength=4) / 60000
        np.testing.assert_allclose(counts, [1 - p, p / 3, p / 3, p / 3], atol=0.01)


def test_gradients_of_fixed_trajectories_match_finite_differences():
    circuit, qubits, xs, ws = circuits.representation_circuit(WIDTH, LAYERS, "ring")
    executor = make_executor(circuit, qubits, xs, ws, layers=LAYERS, engine="statevector",
                             device_noise=_noise(), noise_trajectories=16)
    angles = tf.constant(ANGLES, tf.float64)
    weights = _weights(len(ws))

    def f(w):  # the same draws every call: a smooth function of the weights
        tf.random.set_seed(5)
        z = executor.expectation_z(tf.cast(angles, tf.float32), tf.cast(w, tf.float32))
        return tf.reduce_sum(z * tf.constant([0.3, -1.0, 0.7]))

    w = tf.Variable(weights, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = f(w)
    grad = tape.gradient(value, w).numpy()
    eps = 1e-2
    fd = [(f(weights + eps * e) - f(weights - eps * e)).numpy() / (2 * eps)
          for e in np.eye(len(weights))]
    np.testing.assert_allclose(grad, fd, atol=2e-3)
    assert np.abs(grad).max() > 0.05


def test_fake_fez_noise_comes_from_its_calibration_on_the_layout_qubits():
    from qiskit_ibm_runtime.fake_provider import FakeFez

    circuit, qubits, _, _ = circuits.representation_circuit(8, 2, "ring")
    noise = from_fake_backend("fake_fez", circuit, qubits)
    backend = FakeFez()
    assert len(set(noise.layout)) == 8
    for k, phys in enumerate(noise.layout):
        props = backend.properties().qubit_property(phys)
        assert noise.readout[k] == (props["prob_meas1_prep0"][0], props["prob_meas0_prep1"][0])
        e = backend.target["sx"][(phys,)].error
        assert noise.gate[k] == pytest.approx(1.5 * (1 - (1 - e) ** 2))
    assert {pair for pair, _ in noise.pair} == {(k, (k + 1) % 8) for k in range(8)}
    assert all(0 < p < 0.2 for _, p in noise.pair)
    # The frame holds one site per gate qubit: 8 + 16 one-qubit gates, 16 CRX on two.
    frame, symbols, probs = pauli_frame(circuit, qubits, noise)
    assert len(probs) == 8 + 16 + 2 * 16 and len(symbols) == 2 * len(probs)


def test_a_noise_from_layer_trains_noisy_and_keeps_pure_states():
    layer = QuantumRepresentation(4, 1, engine="statevector", noise_from="fake_fez")
    angles = tf.constant(np.random.default_rng(0).uniform(0, np.pi, (64, 4)), tf.float32)
    exact = QuantumRepresentation(4, 1, engine="statevector")
    exact.build((None, 4))
    layer.build((None, 4))
    exact.ansatz_weights.assign(layer.ansatz_weights)
    tf.random.set_seed(0)
    noisy = layer(angles).numpy()
    # Readout alone moves every ⟨Z⟩; the pure states are the exact layer's.
    assert np.abs(noisy - exact(angles).numpy()).mean() > 0.005
    np.testing.assert_allclose(layer.statevectors(angles), exact.statevectors(angles), atol=1e-5)
    assert QuantumRepresentation.from_config(layer.get_config()).noise_from == "fake_fez"


@pytest.mark.parametrize("override, message", [
    ("model.noise_from=fake_nowhere", "must name a fake backend"),
    ("model.noise_from=fake_fez,model.shots=100,model.differentiator=parameter_shift",
     "cannot combine"),
    ("model.noise_from=fake_fez,model.engine=tensornet", "cannot combine"),
    ("model.noise_from=fake_fez,model.representation=classical", "quantum network only"),
    ("model.noise_trajectories=0", "noise_trajectories"),
])
def test_bad_noise_from_is_refused_with_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        check_run(config_io.override(RunConfig(), override.split(",")))
