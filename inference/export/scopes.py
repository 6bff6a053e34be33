"""TensorFlow name scopes the Keras model emits and the ONNX rewrite replaces."""

NORM_SCOPE = "rms_norm"
ATTENTION_SCOPE = "attention_core"
SWIGLU_SCOPE = "swiglu"
