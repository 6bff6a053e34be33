"""Each supported architecture against llama.cpp, on synthetic files llama.cpp quantized.

Same harness as test_llamacpp_parity.py (tests/llamacpp_reference.py): random weights in
llama.cpp's layout, the default model's real vocabulary (cut to 4096 tokens) under each
architecture's own pre-tokenizer, and llama.cpp's quantizer; and a Mistral-style model with a
SentencePiece vocabulary (tests/spm_vocab.py), prompted through Mistral's chat template. Plus
the tokenizers alone: Draftsmith's rebuilt tokenizer gives llama.cpp's ids for the full
vocabulary under every pre-tokenizer it supports, and for the SentencePiece vocabulary with and
without the space prefix, on multilingual, punctuation, whitespace and code text."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from tokenizers import Tokenizer

from inference.export.build import build
from inference.export.gguf_tokenizer import build_tokenizer_json, supported_pre_tokenizers
from inference.model_folder import ModelFolder
from inference.runtime.chat_template import render_chat
from inference.runtime.tokenizer import Tokenizer as RuntimeTokenizer
from tests import llamacpp_reference as llamacpp
from tests.export.conftest import write_tokenizer_gguf
from tests.spm_vocab import MISTRAL_TEMPLATE, spm_tokenizer_fields
from tests.spm_vocab import corpus as spm_corpus
from tests.synthetic_gguf import Shape, cut_vocabulary, tokenizer_metadata, write_synthetic_gguf

LLAMA_PYTHON, WHY_NOT = llamacpp.llama_python()
pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(LLAMA_PYTHON is None, reason=WHY_NOT),
]

QWEN_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# A rope scaling that matters within a short text: with an original context of 16 tokens,
# every frequency slower than 4 tokens a turn is divided by up to 8.
LLAMA3_ROPE = (8.0, 1.0, 4.0, 16)

# (shape, pre-tokenizer, llama.cpp quant type, variant compared, relative logit bound). Two
# layers add up more activation rounding than the one-layer files of test_llamacpp_parity.py:
# measured 0.33 (Q4_K), 0.005 (F32), 0.50 (Q4_K_M), 0.24 (Q6_K), 0.31 (Q4_K_M), 0.075 (Q8_0),
# 0.006 (F16), with top-1 agreement 100% and equal greedy continuations in every case.
CASES: dict[str, tuple[Shape, str, str, str, float]] = {
    "llama3-rope-freqs": (Shape(llama3_rope=LLAMA3_ROPE), "llama-bpe", "Q4_K", "q4", 0.6),
    "llama3-rope-freqs-f32": (Shape(llama3_rope=LLAMA3_ROPE), "llama-bpe", "F32", "fp32", 0.01),
    "mistral-sliding-window": (Shape(sliding_window=16), "tekken", "Q4_K_M", "q4", 0.7),
    "llama-untied-head": (Shape(untied=True), "smollm", "Q6_K", "q4", 0.4),
    "qwen2": (Shape(arch="qwen2", qkv_bias=True, untied=True), "qwen2", "Q4_K_M", "q4", 0.6),
    "qwen2-q8": (Shape(arch="qwen2", qkv_bias=True), "qwen2", "Q8_0", "q4", 0.15),
    "qwen2-f16": (Shape(arch="qwen2", qkv_bias=True), "qwen2", "F16", "fp32", 0.01),
}

TOKENIZER_TEXTS = [
    llamacpp.PARITY_TEXT,
    "don't WON'T y'all 'tis I'M you're — “double” ‘single’ «guillemets» …",
    "In 2024, 1,000,000 people paid $19.99 (or 15%) for 3-4 items; x²½ ١٢٣ １２３",
    "  two  spaces\ttab\n\n\nnewlines\r\nwindows   trailing   ",
    "def add(a, b):\n    return a + b  # code\n",
    "Привет, мир! Καλημέρα κόσμε. مرحبا بالعالم שלום नमस्ते สวัสดี Tiếng Việt",
    "你好，世界！日本語の文章です。한국어 문장입니다. café naïve Ångström straße",
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 1️⃣ ❤️",
    "CamelCaseWords and ALLCAPS and MiXeD/paths/with/slashes and URLs https://x.org/a?b=1",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
]


@pytest.fixture(scope="session")
def default_tokenizer_fields(default_gguf: Path) -> dict[str, Any]:
    return tokenizer_metadata(gguf.GGUFReader(str(default_gguf)))


def _fields(default: dict[str, Any], pre: str, arch: str) -> dict[str, Any]:
    fields = cut_vocabulary(default, 4096)
    fields["tokenizer.ggml.pre"] = pre
    if arch == "qwen2":
        fields["tokenizer.chat_template"] = QWEN_TEMPLATE
    return fields


@pytest.mark.parametrize("case", list(CASES))
def test_architecture_matches_llamacpp(
    case: str, default_tokenizer_fields: dict[str, Any], tmp_path: Path
) -> None:
    shape, pre, qtype, variant, bound = CASES[case]
    fields = _fields(default_tokenizer_fields, pre, shape.arch)
    source = write_synthetic_gguf(tmp_path / "F32.gguf", fields, shape)
    path = source if qtype == "F32" else llamacpp.quantize(source, tmp_path / "q.gguf", qtype)
    folder = build(path, cache_root=tmp_path / "cache").path
    figures = llamacpp.compare(path, folder, variant)
    print(f"{case} ({qtype}, {variant}): {figures}")
    assert figures["max_relative_diff"] < bound, figures
    assert figures["decided_disagreements"] == 0, figures
    assert figures["top1_agreement"] >= 0.95, figures
    assert figures["greedy_equal"], figures
    model = ModelFolder.open(folder)
    assert model.architecture.type == shape.arch
    assert model.architecture.attention_bias == shape.qkv_bias
    assert model.architecture.tie_embeddings == (not shape.untied)
    assert model.chat_template == fields.get("tokenizer.chat_template")


def test_rope_freqs_change_what_llamacpp_computes(
    default_tokenizer_fields: dict[str, Any], tmp_path: Path
) -> None:
    """The Llama 3 case above would prove nothing if its factors did not matter on the
    parity text: the same weights without ``rope_freqs`` give far different logits."""
    fields = _fields(default_tokenizer_fields, "llama-bpe", "llama")
    scaled = write_synthetic_gguf(tmp_path / "scaled.gguf", fields, Shape(llama3_rope=LLAMA3_ROPE))
    plain = write_synthetic_gguf(tmp_path / "plain.gguf", fields, Shape())
    ids = (
        Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(plain))))
        .encode(llamacpp.PARITY_TEXT, add_special_tokens=False)
        .ids
    )
    with_factors = llamacpp.run(scaled, [], ids, 0).logits
    without = llamacpp.run(plain, [], ids, 0).logits
    relative = np.abs(with_factors - without).max(-1) / without.std(-1)
    assert relative.max() > 0.5


@pytest.mark.parametrize("pre", supported_pre_tokenizers())
def test_tokenizer_ids_equal_llamacpp(
    pre: str, default_tokenizer_fields: dict[str, Any], tmp_path: Path
) -> None:
    fields = dict(default_tokenizer_fields)
    fields["tokenizer.ggml.pre"] = pre
    path = write_tokenizer_gguf(tmp_path / f"{pre}.gguf", fields)
    tokenizer = Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))
    reference = llamacpp.run(path, TOKENIZER_TEXTS, [], 0)
    for text, expected in zip(TOKENIZER_TEXTS, reference.tokens, strict=True):
        assert tokenizer.encode(text, add_special_tokens=False).ids == expected, (pre, text)


SPM_TEXTS = [
    *TOKENIZER_TEXTS,
    "<s>[INST] Continue my story, please. [/INST]",
    "[INST]no space[/INST] Sure.</s>",
    "literal <0x41> text, <unk> and <|file_sep|>main.py",
    "\n\n    indented\n\t\ttabs  ",
    " ",
]


def _random_texts(count: int, seed: int = 0) -> list[str]:
    """Mixtures of the vocabulary's corpus, its markers, spaces and unseen characters."""
    rng = random.Random(seed)
    corpus = spm_corpus()
    parts = [*sorted(set(corpus)), "[INST]", "[/INST]", "<s>", "</s>", "<|im_end|>", "  ", "\n"]
    parts += ["\u2581", "\U0001f600", "\u00a0", "\u0301", "\u20ac", "\x00", "\ufffd"]
    texts = []
    for _ in range(count):
        start = rng.randrange(len(corpus))
        pieces = [corpus[start : start + rng.randrange(40)]]
        pieces += rng.choices(parts, k=rng.randrange(12))
        rng.shuffle(pieces)
        texts.append("".join(pieces))
    return texts


def _mistral_prompt(text: str) -> str:
    messages = [{"role": "user", "content": text}]
    return render_chat(MISTRAL_TEMPLATE, messages, bos_token="<s>", eos_token="</s>")


@pytest.mark.parametrize("space_prefix", [None, False], ids=["space-prefix", "no-space-prefix"])
def test_sentencepiece_ids_and_pieces_equal_llamacpp(
    space_prefix: bool | None, tmp_path: Path
) -> None:
    fields = spm_tokenizer_fields(add_space_prefix=space_prefix)
    path = write_tokenizer_gguf(tmp_path / "spm.gguf", fields)
    tokenizer = Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))
    texts = [*SPM_TEXTS, _mistral_prompt(llamacpp.PARITY_TEXT), *_random_texts(300)]
    reference = llamacpp.run(path, texts, [], 0, pieces=True)
    for text, expected in zip(texts, reference.tokens, strict=True):
        assert tokenizer.encode(text, add_special_tokens=False).ids == expected, text
    # What the app shows for each generated token is llama.cpp's piece for it.
    runtime = RuntimeTokenizer(tokenizer)
    assert [runtime.token_bytes(i) for i in range(runtime.vocab_size)] == reference.pieces


def test_sentencepiece_mistral_matches_llamacpp(tmp_path: Path) -> None:
    """A Mistral 7B-style file: ``llama`` architecture, SentencePiece vocabulary with
    ``[INST]`` control tokens, Q4_K_M, prompted through Mistral's chat template."""
    fields = spm_tokenizer_fields()
    source = write_synthetic_gguf(tmp_path / "F32.gguf", fields, Shape())
    path = llamacpp.quantize(source, tmp_path / "q.gguf", "Q4_K_M")
    folder = build(path, cache_root=tmp_path / "cache").path
    prompt = _mistral_prompt(llamacpp.PARITY_TEXT)
    assert prompt.startswith("<s>[INST] The lighthouse") and prompt.endswith("[/INST]")
    figures = llamacpp.compare(path, folder, "q4", text=prompt)
    print(f"mistral-sentencepiece (Q4_K_M, q4): {figures}")
    assert figures["max_relative_diff"] < 0.7, figures
    assert figures["decided_disagreements"] == 0, figures
    assert figures["top1_agreement"] >= 0.95, figures
    assert figures["greedy_equal"], figures
    model = ModelFolder.open(folder)
    assert model.chat_template == MISTRAL_TEMPLATE
    assert model.special_tokens["bos_token_id"] == 1
    assert model.special_tokens["add_bos_token"] is True
    assert model.special_tokens["stop_token_ids"] == [
        2,
        fields["tokenizer.ggml.tokens"].index("<|im_end|>"),
    ]
