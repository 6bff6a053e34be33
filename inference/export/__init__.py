"""Build-time model pipeline: GGUF -> Keras model -> tf2onnx -> ONNX variants -> checks.

The only package in Draftsmith that imports TensorFlow (lazily, where it is needed)."""

import os

# TensorFlow's C++ start-up chatter is noise in a progress display; errors still surface as
# Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
