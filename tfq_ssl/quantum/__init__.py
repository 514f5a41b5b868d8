"""The quantum wing: circuits, the executors that run them, and the Keras layer.

- :mod:`~tfq_ssl.quantum.circuits`: circuit builders (paper Fig. 2 and Fig. 10).
- :mod:`~tfq_ssl.quantum.executor`: the interface every executor implements.
- :mod:`~tfq_ssl.quantum.factory`: :func:`make_executor`, the rules of which
  options combine.
- one module per executor: ``tfq_adjoint``, ``tfq_shift``, ``tfq_sampled`` (on
  TFQ's ops), ``statevector``, ``sampled_statevector``, ``tensornet`` (the
  project's own engines, on the gate compiler of ``circuit_compiler``).
- :mod:`~tfq_ssl.quantum.device_noise`: a fake backend's calibration as a noise
  model; :mod:`~tfq_ssl.quantum.trajectories` runs it as Pauli trajectories.
- :mod:`~tfq_ssl.quantum.layer`: ``QuantumRepresentation``.

Submodules are imported explicitly, so that the circuit builders load without
TensorFlow.
"""
