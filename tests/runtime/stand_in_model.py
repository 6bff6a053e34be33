"""A stand-in model folder with the contract's ONNX I/O (not a language model).

Used only until ``tiny_model_dir`` (the real export path) is available: logits depend on
every cached key, so prompt-cache and chunked-prefill bugs still show up."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from tests.tiny_vocab import CHAT_TEMPLATE

LAYERS, KV_HEADS, HEAD_DIM, CONTEXT = 2, 2, 8, 256


def _tokenizer(out: Path) -> Tokenizer:
    corpus = ["The quick brown fox jumps over the lazy dog. " * 3,
              "Once upon a time, there was a writer who wrote stories.",
              "Café, naïve, résumé — “quotes” 日本語 emoji 😀 ünïcödé",
              "Hello world! How are you today?\n\nNew paragraph here."] * 20
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(out / "tokenizer.json"))
    return tok


def _graph(vocab: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    width = KV_HEADS * HEAD_DIM
    inits = [
        numpy_helper.from_array(rng.standard_normal((vocab, width)).astype(np.float32), "E"),
        numpy_helper.from_array(rng.standard_normal((width, vocab)).astype(np.float32), "W"),
        numpy_helper.from_array((rng.standard_normal((vocab, vocab)) * 2).astype(np.float32),
                                "E2"),
        numpy_helper.from_array(np.array([0, 0, KV_HEADS, HEAD_DIM], np.int64), "shape4"),
        numpy_helper.from_array(np.array([0, width], np.int64), "shape2"),
        numpy_helper.from_array(np.array(-1, np.int64), "minus_one"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array(0.01, np.float32), "pos_scale"),
    ]
    nodes = [
        helper.make_node("Gather", ["E", "input_ids"], ["emb"]),
        helper.make_node("Reshape", ["emb", "shape4"], ["emb4"]),
        helper.make_node("Transpose", ["emb4"], ["k"], perm=[0, 2, 1, 3]),
        helper.make_node("Cast", ["position_ids"], ["pos_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["pos_f", "axis1"], ["pos3"]),
        helper.make_node("Unsqueeze", ["pos3", "minus_one"], ["pos4"]),
        helper.make_node("Mul", ["pos4", "pos_scale"], ["pos_term"]),
        helper.make_node("Add", ["k", "pos_term"], ["kp"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                      ["batch", "total_sequence"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "sequence"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1, vocab])]
    total = None
    for i in range(LAYERS):
        for kind, source in (("key", "kp"), ("value", "k")):
            inputs.append(helper.make_tensor_value_info(
                f"past_key_values.{i}.{kind}", TensorProto.FLOAT,
                ["batch", KV_HEADS, "past_sequence", HEAD_DIM]))
            outputs.append(helper.make_tensor_value_info(
                f"present.{i}.{kind}", TensorProto.FLOAT,
                ["batch", KV_HEADS, "total_sequence", HEAD_DIM]))
            nodes.append(helper.make_node(
                "Concat", [f"past_key_values.{i}.{kind}", source], [f"present.{i}.{kind}"],
                axis=2))
        nodes.append(helper.make_node("ReduceMean", [f"present.{i}.key"], [f"mean{i}"],
                                      axes=[2], keepdims=0))
        if total is None:
            total = f"mean{i}"
        else:
            nodes.append(helper.make_node("Add", [total, f"mean{i}"], [f"sum{i}"]))
            total = f"sum{i}"
    nodes += [
        helper.make_node("Reshape", [total, "shape2"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["history"]),
        helper.make_node("Gather", ["input_ids", "minus_one"], ["last"], axis=1),
        helper.make_node("Gather", ["E2", "last"], ["recent"]),
        helper.make_node("Add", ["history", "recent"], ["scores"]),
        helper.make_node("Unsqueeze", ["scores", "axis1"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "stand-in", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def build_stand_in_model(out: Path) -> Path:
    tok = _tokenizer(out)
    vocab = tok.get_vocab_size()
    onnx.save(_graph(vocab), str(out / "model.q4.onnx"))
    ids = tok.get_vocab()

    def sha(name: str) -> str:
        return hashlib.sha256((out / name).read_bytes()).hexdigest()

    manifest = {
        "format_version": 1, "pipeline_version": "stand-in", "name": "stand-in",
        "architecture": {"type": "llama", "num_layers": LAYERS, "hidden_size": KV_HEADS * HEAD_DIM,
                         "num_heads": KV_HEADS, "num_kv_heads": KV_HEADS, "head_dim": HEAD_DIM,
                         "intermediate_size": 16, "vocab_size": vocab, "rope_theta": 10000.0,
                         "rms_norm_eps": 1e-5},
        "context_length": CONTEXT,
        "chat_template": CHAT_TEMPLATE,
        "special_tokens": {"bos_token_id": ids["<|im_start|>"], "eos_token_id": ids["<|im_end|>"],
                           "pad_token_id": ids["<|endoftext|>"],
                           "stop_token_ids": [ids["<|im_end|>"], ids["<|endoftext|>"]],
                           "add_bos_token": False},
        "variants": {"q4": {"file": "model.q4.onnx", "dtype": "float32"}},
        "default_variant": "q4",
        "files": {"model.q4.onnx": sha("model.q4.onnx"), "tokenizer.json": sha("tokenizer.json")},
        "source": {},
    }
    (out / "draftsmith-model.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out
