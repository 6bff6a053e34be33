"""Local text generation: ``export`` builds the ONNX model (build time, TensorFlow),
``runtime`` runs it with onnxruntime (run time, never imports TensorFlow).

Importing this package first sets the process environment the libraries read when they load
(onnxruntime's telemetry off): see ``process_environment``."""

from inference import process_environment as _process_environment  # noqa: F401  (first)
