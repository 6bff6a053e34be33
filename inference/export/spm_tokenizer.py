"""llama.cpp's SentencePiece ("SPM") tokenizer as a Hugging Face ``tokenizers`` BPE model.

GGUF files with ``tokenizer.ggml.model == "llama"`` (Llama 1/2, Mistral 7B v0.1-v0.3,
TinyLlama and their fine-tunes) carry pieces with scores instead of merges. llama.cpp
(``llm_tokenizer_spm`` in ``llama-vocab.cpp``) tokenizes a text fragment like this:

* a space is put in front when ``add_space_prefix`` is set (the default) and the fragment
  starts the text or follows a special/user-defined token; then every ``" "`` becomes ``"▁"``;
* starting from single characters, it repeatedly joins the adjacent pair whose joined text is a
  token with the highest score (the leftmost pair on a tie);
* a final symbol that is not a token is written as its UTF-8 bytes, each as ``<0xXX>``.

The equivalent ``tokenizers`` pipeline (as in ``transformers``' ``LlamaConverter``): a
normalizer ``Prepend("▁")`` + ``Replace(" ", "▁")``, which the library applies to each
fragment between added tokens, just as llama.cpp re-adds the space after a special token; a BPE
model with ``byte_fallback`` whose merges are every split of every piece into two pieces,
ordered by the joined piece's score (highest first). BPE then joins the pair of lowest rank,
the leftmost on a tie, which is llama.cpp's rule as long as no two different pieces that could
compete for the same characters have the same score; among equal scores we rank the lower id
first (SentencePiece's BPE vocabularies give every piece its own score, so this does not arise
in real files, but a hand-made vocabulary with equal scores may tokenize differently).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SPACE = "\u2581"  # "▁", SentencePiece's visible space
BYTE_TOKENS: tuple[str, ...] = tuple(f"<0x{b:02X}>" for b in range(256))


def missing_byte_tokens(tokens: Sequence[str]) -> list[str]:
    """The ``<0xXX>`` byte-fallback tokens the vocabulary lacks."""
    present = set(tokens)
    return [text for text in BYTE_TOKENS if text not in present]


def merges_from_scores(tokens: Sequence[str], scores: Sequence[float]) -> list[tuple[str, str]]:
    """Every way to make a piece from two pieces, the best-scored piece first.

    Splits are taken at character boundaries, as llama.cpp's symbols are whole UTF-8
    characters; any token may be the result (llama.cpp looks the joined text up among all
    tokens, whatever their type). Equal scores keep id order, then the split's own ids.
    """
    ids = {text: token_id for token_id, text in enumerate(tokens)}
    ranked: list[tuple[float, int, int, int]] = []
    for token_id, piece in enumerate(tokens):
        score = float(scores[token_id])
        for cut in range(1, len(piece)):
            left = ids.get(piece[:cut])
            right = ids.get(piece[cut:])
            if left is not None and right is not None:
                ranked.append((-score, token_id, left, right))
    ranked.sort()
    return [(tokens[left], tokens[right]) for _, _, left, right in ranked]


def normalizer(add_space_prefix: bool) -> dict[str, Any]:
    """llama.cpp's space prefix and whitespace escaping, per fragment between added tokens."""
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}
    if not add_space_prefix:
        return replace
    return {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPACE}, replace]}


def decoder(add_space_prefix: bool) -> dict[str, Any]:
    """``▁`` back to spaces, ``<0xXX>`` tokens back to bytes; the added leading space dropped
    (llama.cpp's ``detokenize`` drops it too; the runtime decodes with its own byte table)."""
    steps: list[dict[str, Any]] = [
        {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if add_space_prefix:
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return {"type": "Sequence", "decoders": steps}


def bpe_model(
    vocab: dict[str, int], merges: list[tuple[str, str]], unk_token: str | None
) -> dict[str, Any]:
    return {
        "type": "BPE",
        "dropout": None,
        "unk_token": unk_token,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": True,
        "ignore_merges": False,
        "vocab": vocab,
        "merges": [list(pair) for pair in merges],
    }
