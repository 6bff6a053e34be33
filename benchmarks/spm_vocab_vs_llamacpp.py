"""A real SentencePiece vocabulary against llama.cpp, without downloading a model.

Takes a Hugging Face ``tokenizer.json`` of a SentencePiece BPE model (Llama 2, Mistral 7B,
TinyLlama, OpenLLaMA: ``"model": {"type": "BPE", "byte_fallback": true}``), writes its pieces as a
tensor-free GGUF the way llama.cpp's converter lays out such a vocabulary (``tokenizer.ggml.model
= "llama"``, byte tokens typed as bytes, scores ``-id`` for ordinary pieces: SentencePiece's BPE
keeps pieces in merge order), then compares Draftsmith's rebuilt tokenizer with llama.cpp on the
parity texts, 300 random mixtures and the README, and every token's decoded piece. Also reports
how often the ``tokenizer.json``'s own library pipeline agrees (it is not the reference).

    DRAFTSMITH_LLAMA_PYTHON=benchmarks/.env/llama/bin/python \\
        .venv/bin/python benchmarks/spm_vocab_vs_llamacpp.py path/to/tokenizer.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import gguf
from tokenizers import Tokenizer

from inference.export.gguf_tokenizer import build_tokenizer_json
from inference.runtime.tokenizer import Tokenizer as RuntimeTokenizer
from tests import llamacpp_reference as llamacpp
from tests.export.conftest import write_tokenizer_gguf
from tests.export.test_llamacpp_architectures import SPM_TEXTS, _mistral_prompt, _random_texts

REPO = Path(__file__).resolve().parent.parent
_UNKNOWN, _CONTROL, _BYTE, _NORMAL = 2, 3, 6, 1


def gguf_fields(document: dict[str, Any]) -> dict[str, Any]:
    """``tokenizer.*`` GGUF metadata for a SentencePiece BPE ``tokenizer.json``."""
    vocab: dict[str, int] = document["model"]["vocab"]
    tokens = [""] * len(vocab)
    for text, token_id in vocab.items():
        tokens[token_id] = text
    unk = document["model"].get("unk_token") or "<unk>"
    specials = {added["content"] for added in document["added_tokens"] if added["special"]}
    types: list[int] = []
    scores: list[float] = []
    for token_id, text in enumerate(tokens):
        if text == unk:
            types.append(_UNKNOWN)
        elif text in specials:
            types.append(_CONTROL)
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            types.append(_BYTE)
        else:
            types.append(_NORMAL)
        scores.append(float(-token_id) if types[-1] == _NORMAL else 0.0)
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": vocab.get("<s>", 1),
        "tokenizer.ggml.eos_token_id": vocab.get("</s>", 2),
        "tokenizer.ggml.unknown_token_id": vocab.get(unk, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tokenizer_json", type=Path)
    args = parser.parse_args()
    document = json.loads(args.tokenizer_json.read_text(encoding="utf-8"))
    fields = gguf_fields(document)
    texts = [*SPM_TEXTS, _mistral_prompt(llamacpp.PARITY_TEXT), *_random_texts(300)]
    texts.append((REPO / "README.md").read_text(encoding="utf-8")[:20000])
    with tempfile.TemporaryDirectory(prefix="spm-vocab-") as tmp:
        path = write_tokenizer_gguf(Path(tmp) / "vocab.gguf", fields)
        ours = Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))
        reference = llamacpp.run(path, texts, [], 0, pieces=True)
    differing = [
        text
        for text, ids in zip(texts, reference.tokens, strict=True)
        if ours.encode(text, add_special_tokens=False).ids != ids
    ]
    runtime = RuntimeTokenizer(ours)
    pieces = sum(
        runtime.token_bytes(token_id) != piece for token_id, piece in enumerate(reference.pieces)
    )
    library = Tokenizer.from_str(json.dumps(document))
    markers = [added.content for added in library.get_added_tokens_decoder().values()]
    plain = [t for t in texts if not any(marker in t for marker in markers)]
    library_differs = sum(
        library.encode(t, add_special_tokens=False).ids
        != ours.encode(t, add_special_tokens=False).ids
        for t in plain
    )
    total = sum(len(ids) for ids in reference.tokens)
    print(f"vocabulary: {len(fields['tokenizer.ggml.tokens'])} tokens")
    same = len(texts) - len(differing)
    print(f"Draftsmith = llama.cpp: {same}/{len(texts)} texts ({total} tokens)")
    print(f"token pieces differing from llama.cpp's: {pieces}")
    print(f"the tokenizer.json's own pipeline differs on {library_differs}/{len(plain)} texts")
    for text in differing[:5]:
        print("differs:", repr(text[:80]))


if __name__ == "__main__":
    main()
