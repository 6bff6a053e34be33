"""Local text generation: ``export`` builds the ONNX model (build time, TensorFlow),
``runtime`` runs it with onnxruntime (run time, never imports TensorFlow)."""
