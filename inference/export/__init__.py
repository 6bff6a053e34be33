"""Build-time model pipeline: GGUF -> Keras model -> tf2onnx -> ONNX variants -> checks.

The only package in Draftsmith that imports TensorFlow."""
