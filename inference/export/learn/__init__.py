"""Learn my style: LoRA adapters trained in TensorFlow on the writer's own documents,
judged on held-out documents and exported beside the unchanged 4-bit base.

TensorFlow is imported by the modules that need it (``adapters``, ``training``), never by
this package's front door, so the CLI starts quickly."""
