"""Build-time model pipeline: GGUF -> Keras model -> tf2onnx -> ONNX variants -> checks.

The only package in Draftsmith that imports TensorFlow (lazily, where it is needed). The
environment TensorFlow and Keras read at import is set by ``inference.process_environment``."""
