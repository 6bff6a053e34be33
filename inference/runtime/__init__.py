"""Run-time generation with onnxruntime: session, tokenizer, KV cache, sampling, tasks."""
