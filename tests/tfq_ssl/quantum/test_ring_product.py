"""The ring without entanglement (``ansatz="ring_product"``), a control of issue 23.

Its gradients against finite differences, its engines against TFQ and its Qiskit
conversion are covered with every other ansatz (test_layer, test_statevector,
test_convert_qiskit_circuits parametrise over ``circuits.ANSATZE``); here: what makes
it a control.
"""

import tfq_ssl  # noqa: F401
import cirq
import numpy as np
import pytest

from tfq_ssl.quantum import circuits
from tfq_ssl.quantum.layer import QuantumRepresentation


def _resolved(width, layers, angles, weights, ansatz="ring_product"):
    circuit, qubits, xs, ws = circuits.representation_circuit(width, layers, ansatz)
    values = {**{str(s): a for s, a in zip(xs, angles)}, **{str(s): w for s, w in zip(ws, weights)}}
    return cirq.resolve_parameters(circuit, values), qubits


def _rx(a):
    c, s = np.cos(a), np.sin(a)  # Bloch-vector rotation about x (order x, y, z)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def closed_form_z(angles, weights, width, layers):
    """⟨Z_k⟩ = (R_k (0, −sin x_k, cos x_k))_z with R_k the product of qubit k's own
    rotations: RY(θ[l, k]) then RX(θ[l, W + (k − 1) mod W]) per layer."""
    w = np.asarray(weights).reshape(layers, 2 * width)
    out = []
    for k in range(width):
        rotation = np.eye(3)
        for layer in range(layers):
            rotation = _rx(w[layer, width + (k - 1) % width]) @ _ry(w[layer, k]) @ rotation
        out.append((rotation @ np.array([0.0, -np.sin(angles[k]), np.cos(angles[k])]))[2])
    return np.array(out)


@pytest.mark.parametrize("width,layers", [(2, 1), (4, 2), (8, 2), (5, 3)])
def test_same_symbols_and_depth_as_the_ring(width, layers):
    ring, _, _, ring_ws = circuits.representation_circuit(width, layers, "ring")
    product, _, _, product_ws = circuits.representation_circuit(width, layers, "ring_product")
    assert [str(s) for s in product_ws] == [str(s) for s in ring_ws]
    assert len(product_ws) == 2 * width * layers
    assert len(product) == len(ring)  # moments: the same depth
    assert all(len(op.qubits) == 1 for op in product.all_operations())
    # Each CRX(θ) i → i+1 of the ring became RX(θ) on qubit i+1, in the same moment.
    for ring_moment, product_moment in zip(ring, product):
        for ring_op, product_op in zip(ring_moment, product_moment):
            assert ring_op.qubits[-1] == product_op.qubits[0]


@pytest.mark.parametrize("width,layers", [(4, 2), (8, 2)])
def test_state_is_a_product_state(width, layers):
    rng = np.random.default_rng(width)
    circuit, qubits = _resolved(width, layers, rng.uniform(0, np.pi, width),
                                rng.uniform(-np.pi, np.pi, 2 * width * layers))
    state = cirq.final_state_vector(circuit, qubit_order=qubits, dtype=np.complex128)
    tensor = state.reshape([2] * width)
    for k in range(width):  # every single-qubit cut has Schmidt rank 1
        matrix = np.moveaxis(tensor, k, 0).reshape(2, -1)
        singular = np.linalg.svd(matrix, compute_uv=False)
        assert singular[1] < 1e-7
    # The ring with the same values is entangled: the control removes something.
    ring, _ = _resolved(width, layers, rng.uniform(0, np.pi, width),
                        rng.uniform(-np.pi, np.pi, 2 * width * layers), "ring")
    ring_state = cirq.final_state_vector(ring, qubit_order=qubits, dtype=np.complex128)
    assert np.linalg.svd(ring_state.reshape(2, -1), compute_uv=False)[1] > 1e-3


@pytest.mark.parametrize("engine", ["tfq", "statevector"])
@pytest.mark.parametrize("width,layers", [(4, 2), (8, 2), (3, 3)])
def test_expectations_equal_the_closed_form(engine, width, layers):
    rng = np.random.default_rng(width + layers)
    layer = QuantumRepresentation(width, layers, ansatz="ring_product", engine=engine)
    layer.build((None, width))
    weights = rng.uniform(-np.pi, np.pi, layer.ansatz_weights.shape)
    layer.ansatz_weights.assign(weights)
    angles = rng.uniform(0, np.pi, (5, width))
    out = layer(angles.astype(np.float32)).numpy()
    expected = np.stack([closed_form_z(a, weights, width, layers) for a in angles])
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_each_output_depends_on_its_own_angle_only():
    width, layers = 6, 2
    rng = np.random.default_rng(1)
    weights = rng.uniform(-np.pi, np.pi, 2 * width * layers)
    angles = rng.uniform(0, np.pi, width)
    base = closed_form_z(angles, weights, width, layers)
    layer = QuantumRepresentation(width, layers, ansatz="ring_product", engine="statevector")
    layer.build((None, width))
    layer.ansatz_weights.assign(weights)
    for j in range(width):
        moved = angles.copy()
        moved[j] += 0.7
        out = layer(moved[None].astype(np.float32)).numpy()[0]
        changed = np.abs(out - base) > 1e-5
        assert list(np.flatnonzero(changed)) == [j]


def test_tensornet_refuses_it_with_one_line():
    from tfq_ssl.errors import ConfigError
    with pytest.raises(ConfigError, match="ring ansatz"):
        QuantumRepresentation(4, 2, ansatz="ring_product", engine="tensornet")
