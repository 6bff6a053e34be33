"""Record llama.cpp's token ids for a broad set of texts, as the reference our tokenizer must match.

Runs in a SEPARATE virtual environment that holds llama-cpp-python (built from PyPI) and gguf,
never in the project's own environment:

    python3 -m venv /path/to/llama-venv
    /path/to/llama-venv/bin/pip install llama-cpp-python==0.3.36 gguf
    /path/to/llama-venv/bin/python benchmarks/record_llamacpp_token_ids.py \
        /path/to/SmolLM2-135M-Instruct.Q4_1.gguf

It loads the GGUF with ``llama_cpp.Llama(model_path=..., vocab_only=True)`` and tokenizes every
text with ``tokenize(text, add_bos=False, special=True)``. To check the other pre-tokenizers the
builder supports, it also writes tensor-free copies of the GGUF whose ``tokenizer.ggml.pre`` is
changed (same vocabulary and merges), and a tiny GGUF made by ``tests/tiny_vocab.py``.
Output: ``tests/export/data/llamacpp_token_ids.json`` (override with ``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import gguf
import llama_cpp

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "export" / "data" / "llamacpp_token_ids.json"

# Pre-tokenizer names checked on the default model's vocabulary besides its own ("smollm").
OTHER_PRE_TOKENIZERS = ["gpt-2", "starcoder", "llama-bpe", "default"]

TEXTS: list[str] = [
    # ASCII prose
    "",
    " ",
    "Hello world",
    "The capital of France is",
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea-shells by the sea-shore; the shells she sells are sea-shells, I'm sure!",
    "Once upon a time, in a small village at the edge of the forest, there lived an old "
    "clockmaker who never let anyone see what he was building.",
    "CAPITALS AND lowercase AND MiXeD CaSe",
    # apostrophes and contractions (the GPT-2 rules are case-sensitive and ASCII-only)
    "don't won't can't shouldn't y'all",
    "I'm I'M you're YOU'RE we've WE'VE he'll HE'LL she'd SHE'D it's IT'S",
    "the dog's bone, the dogs' bones",
    "It\u2019s a curly apostrophe \u2018quoted\u2019 and \u201cdouble\u201d",
    "'tis 'twas rock 'n' roll",
    # digits and numbers
    "0",
    "42",
    "1234567890",
    "3.14159265358979323846",
    "In 2024, 1,000,000 people paid $19.99 (or 15%) for 3-4 items.",
    "Call +1 (555) 010-9999 or 0800 123 456",
    "x1 y22 z333 abc123def 9am",
    "Superscripts x\u00b2 and fractions \u00bd \u00be, roman \u216b, "
    "arabic-indic \u0661\u0662\u0663",
    "Fullwidth \uff11\uff12\uff13 digits",
    # whitespace
    "  two leading spaces",
    "trailing spaces   ",
    "many     spaces     between",
    "\ttab\tseparated\tvalues",
    "line one\nline two\n\nline four",
    "windows\r\nline\r\nendings",
    "\n\n\n",
    " \n \n ",
    "mixed \t \n whitespace",
    "non\u00a0breaking\u00a0space and zero\u200bwidth and ideographic\u3000space",
    "para\u2028line separator",
    # code
    "def add(a, b):\n    return a + b\n",
    'if (x != 0) {\n\tprintf("%d\\n", x);\n}',
    '{"key": [1, 2, 3], "nested": {"ok": true}}',
    '<div class="note">Hello &amp; welcome</div>',
    "SELECT * FROM users WHERE id = 42;",
    "x += y ** 2 // 3 -> z <= w >= v == u",
    "https://example.com/path?query=1&other=two#frag",
    "writer@example.org",
    "# Heading\n\n- item one\n- item **two**\n\n> quoted _text_",
    # Unicode letters and accents
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade co\u00f6perate",
    "cafe\u0301 (combining accent)",
    "\u00c5ngstr\u00f6m \u00d8resund \u00df stra\u00dfe",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u",
    # CJK
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3082\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4",
    "mixed \u6f22\u5b57 and English",
    # emoji
    "I love it \U0001f600\U0001f602\u2764\ufe0f",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 emoji",
    "thumbs \U0001f44d\U0001f3fd skin tone",
    "flags \U0001f1eb\U0001f1f7 \U0001f1ef\U0001f1f5",
    "keycap 1\ufe0f\u20e3 and \u2603 snowman",
    "\U0001f3f3\ufe0f\u200d\U0001f308 rainbow flag",
    # symbols
    "\u2200x \u2208 \u211d: x\u00b2 \u2265 0 \u2227 \u221e \u2260 42",
    "\u00a9 2026 \u2014 \u00ab guillemets \u00bb \u2026 \u2022 bullet \u20ac5 \u00a33 \u00a51",
    "!!! ??? ... --- *** ###",
    "a--b__c..d",
    # chat markers
    "<|im_start|>user\nHi<|im_end|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nContinue my story.<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|im_end|>more text",
    " <|im_start|> spaced markers <|im_end|> ",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start|>user\n\u4f60\u597d \U0001f600<|im_end|>\n",
    "<repo_name>demo<file_sep>main.py<filename>x<gh_stars>10",
    "<jupyter_start><jupyter_code>print(1)<jupyter_output>1<empty_output>",
    "<|im_start",
    "im_end|>",
    "< |im_start| >",
    "<|IM_START|>",
    # bytes SmolLM2's vocabulary has no token for (llama.cpp drops them silently)
    "control \x04\x06\x13 characters",
    "plane four \U00040000 and \U00080000 code points",
]


# Building blocks for seeded random texts: every character class the pre-tokenizer regexes
# distinguish, mixed so that the classes meet at every kind of boundary.
# fmt: off
_RANDOM_PIECES = [
    *"abcXYZ", "the", " the", "ing", " and", "I", "'s", "'t", "'ll", "'RE", "’s",
    *"0123456789", "²", "½", "Ⅷ", "٣", "５",
    *".,;:!?-_()[]{}<>|/\\@#$%^&*+=~`\"'", "...", "--",
    " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", "\u200b", "\u2028", "\x0b",
    "\u00e9", "e\u0301", "\u00f1", "\u00fc", "\u00df", "\u0107", "\u0430\u0431", "\u03b1\u03b2",
    "\u05d0", "\u0627\u0644", "\u0915\u094d\u0937", "\u0e01\u0e34",
    "\u4e2d", "\u6587\u5b57", "\u3042", "\u30ab", "\ud55c",
    "\U0001f600", "\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f44d\U0001f3ff",
    "\U0001f1e9\U0001f1ea", "\u20ac", "\u2211", "\U0001d400", "\U00010348",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im", "|>",
]
# fmt: on


def random_texts(count: int = 300, seed: int = 20261129) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        length = rng.randint(1, 24)
        texts.append("".join(rng.choice(_RANDOM_PIECES) for _ in range(length)))
    return texts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_with_pre(source: gguf.GGUFReader, pre: str, out: Path) -> None:
    """Write a tensor-free copy of ``source``'s metadata with another tokenizer.ggml.pre."""
    arch = source.get_field("general.architecture").contents()
    writer = gguf.GGUFWriter(str(out), arch)
    for key, field in source.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = pre if key == "tokenizer.ggml.pre" else field.contents()
        sub_type = field.types[1] if len(field.types) > 1 else None
        writer.add_key_value(key, value, field.types[0], sub_type)
    _finish(writer)


def _finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _write_tiny(out: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tests.tiny_vocab import add_tiny_tokenizer

    writer = gguf.GGUFWriter(str(out), "llama")
    vocab_size = add_tiny_tokenizer(writer)
    # llama.cpp reads the hyperparameters even for vocab_only; any consistent values do.
    writer.add_context_length(128)
    writer.add_embedding_length(16)
    writer.add_block_count(1)
    writer.add_feed_forward_length(32)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab_size)
    _finish(writer)


def _record(path: Path, texts: list[str]) -> dict[str, Any]:
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    ids = {}
    detokenized = {}
    for text in texts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        ids[text] = list(tokens)
        detokenized[text] = llm.detokenize(tokens, special=True).decode("utf-8", "replace")
    return {"token_ids": ids, "detokenized": detokenized}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf", type=Path, help="the default model's GGUF file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    texts = list(dict.fromkeys(TEXTS + random_texts()))
    source = gguf.GGUFReader(str(args.gguf))
    own_pre = source.get_field("tokenizer.ggml.pre").contents()
    result: dict[str, Any] = {
        "llama_cpp_python_version": llama_cpp.__version__,
        "gguf_file": args.gguf.name,
        "gguf_sha256": _sha256(args.gguf),
        "tokenize_call": "Llama.tokenize(text.encode(), add_bos=False, special=True)",
        "pre_tokenizer": own_pre,
        **_record(args.gguf, texts),
        "other_pre_tokenizers": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for pre in OTHER_PRE_TOKENIZERS:
            variant = Path(tmp) / f"vocab-{pre}.gguf"
            _copy_with_pre(source, pre, variant)
            result["other_pre_tokenizers"][pre] = _record(variant, texts)["token_ids"]
        tiny = Path(tmp) / "tiny.gguf"
        _write_tiny(tiny)
        result["tiny_vocab"] = _record(tiny, texts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    version = llama_cpp.__version__
    print(f"Recorded {len(texts)} texts with llama-cpp-python {version} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
