"""Rebuild a Hugging Face ``tokenizers`` tokenizer from a GGUF file's tokenizer metadata.

llama.cpp is the reference: for the same text our ``tokenizer.json`` must give the same ids as
``llama_tokenize(..., add_special=False, parse_special=True)``, so that a model exported from a
GGUF sees exactly the tokens it was trained on. Two kinds of vocabulary are supported:

* byte-level BPE (``tokenizer.ggml.model == "gpt2"``: SmolLM2, Llama 3, Qwen 2.5, Mistral
  Nemo); the pre-tokenizer regexes below are llama.cpp's own (``llama-vocab.cpp``) for the
  ``tokenizer.ggml.pre`` values we have checked against llama-cpp-python;
* SentencePiece (``"llama"``: Llama 2, Mistral 7B, TinyLlama), pieces with scores and
  ``<0xXX>`` byte fallback, rebuilt as described in ``spm_tokenizer.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import gguf

from inference.export import spm_tokenizer

logger = logging.getLogger(__name__)

# GGUF token types (gguf.TokenType): which ones llama.cpp matches as whole "special" pieces
# before BPE when parsing with special=True.
_TOKEN_NORMAL = 1
_TOKEN_UNKNOWN = 2
_TOKEN_CONTROL = 3
_TOKEN_USER_DEFINED = 4

_BYTE_LEVEL = "gpt2"
_SENTENCEPIECE = "llama"
_SUPPORTED_MODELS = (_BYTE_LEVEL, _SENTENCEPIECE)
# llama.cpp's ids for a SentencePiece vocabulary that names none (llama_vocab::load).
_SPM_DEFAULT_IDS = {"bos_token_id": 1, "eos_token_id": 2, "unknown_token_id": 0}

# The GPT-2 split pattern as llama.cpp runs it (its hand-written matcher ends with a
# catch-all ``\s+``, which the regex form in llama-vocab.cpp leaves implicit).
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# Llama 3 (tiktoken-style). llama.cpp spells the case-insensitive contractions out.
_LLAMA3 = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen 2 / 2.5: like Llama 3's but digits one at a time.
_QWEN2 = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Mistral's Tekken (Nemo and later), in llama.cpp's spelling: a "capital" letter is any
# letter but a-z, a "small" one any letter but A-Z (its regex engine has no \p{Lu}).
_TEKKEN = (
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
    r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# tokenizer.ggml.pre value -> (regexes applied one after another, llama.cpp's ignore_merges,
# llama.cpp's default for add_bos when the GGUF does not say). Names are llama.cpp's: GPT-2's
# is "gpt-2" (llama.cpp would run an unknown "gpt2" with its *default* regexes, so we refuse it).
_PRE_TOKENIZERS: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "gpt-2": ((_GPT2,), False, False),
    "smollm": ((r"\p{N}", _GPT2), False, False),
    "starcoder": ((r"\p{N}", _GPT2), False, False),
    "llama3": ((_LLAMA3,), True, True),
    "llama-v3": ((_LLAMA3,), True, True),
    "llama-bpe": ((_LLAMA3,), True, True),
    "qwen2": ((_QWEN2,), False, False),
    "tekken": ((_TEKKEN,), True, True),
    "default": (
        (r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"),
        False,
        False,
    ),
}

# Token texts llama.cpp treats as "end of generation" besides the declared eos id.
_END_OF_GENERATION_TEXTS = frozenset(
    {
        "<|eot_id|>",
        "<|im_end|>",
        "<|end|>",
        "<end_of_turn>",
        "<|endoftext|>",
        "<|end_of_text|>",
        "<EOT>",
        "<|eom_id|>",
        "<end_of_utterance>",
    }
)


class UnsupportedTokenizerError(ValueError):
    """The GGUF's tokenizer is of a kind this builder cannot reproduce faithfully."""


def supported_pre_tokenizers() -> list[str]:
    """The ``tokenizer.ggml.pre`` values this builder knows."""
    return sorted(_PRE_TOKENIZERS)


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    if field is None:
        return None
    return field.contents()


def _required(reader: gguf.GGUFReader, key: str) -> Any:
    value = _field(reader, key)
    if value is None:
        raise UnsupportedTokenizerError(
            f"This GGUF file has no '{key}' entry, so its tokenizer cannot be rebuilt."
        )
    return value


def _model_type(reader: gguf.GGUFReader) -> str:
    model = str(_required(reader, "tokenizer.ggml.model"))
    if model not in _SUPPORTED_MODELS:
        raise UnsupportedTokenizerError(
            f"The GGUF's tokenizer type is '{model}'; only byte-level BPE ('gpt2') and "
            "SentencePiece ('llama') tokenizers are supported."
        )
    return model


def _pre_tokenizer_spec(reader: gguf.GGUFReader) -> tuple[tuple[str, ...], bool, bool]:
    pre = _field(reader, "tokenizer.ggml.pre") or "default"
    spec = _PRE_TOKENIZERS.get(pre)
    if spec is None:
        raise UnsupportedTokenizerError(
            f"The GGUF's pre-tokenizer '{pre}' is not supported; known ones are: "
            + ", ".join(supported_pre_tokenizers())
            + "."
        )
    return spec


def _split_merge(merge: str) -> list[str]:
    # llama.cpp splits at the first space after position 0 (a merge's left side is never empty).
    pos = merge.find(" ", 1)
    if pos < 0:
        raise UnsupportedTokenizerError(f"The GGUF holds a malformed BPE merge: {merge!r}.")
    return [merge[:pos], merge[pos + 1 :]]


def _add_bos(reader: gguf.GGUFReader, default: bool) -> bool:
    value = _field(reader, "tokenizer.ggml.add_bos_token")
    return default if value is None else bool(value)


def _add_bos_default(reader: gguf.GGUFReader, model: str) -> bool:
    """llama.cpp's add_bos when the GGUF does not say: always for SentencePiece."""
    return True if model == _SENTENCEPIECE else _pre_tokenizer_spec(reader)[2]


def _special_id(reader: gguf.GGUFReader, key: str, model: str, n_tokens: int) -> int | None:
    """``tokenizer.ggml.<key>`` (llama.cpp's default for SentencePiece), if a valid id."""
    value = _field(reader, f"tokenizer.ggml.{key}")
    if value is None and model == _SENTENCEPIECE:
        value = _SPM_DEFAULT_IDS.get(key)
    if value is None or not 0 <= int(value) < n_tokens:
        return None
    return int(value)


def _post_processor(
    reader: gguf.GGUFReader, model: str, tokens: list[str], add_bos: bool, add_eos: bool
) -> dict[str, Any] | None:
    """llama.cpp's add_special rule (BOS first / EOS last) as a TemplateProcessing step."""
    if not add_bos and not add_eos:
        return None
    marks: list[tuple[str, str]] = []
    if add_bos:
        marks.append(("bos", "before every prompt"))
    if add_eos:
        marks.append(("eos", "after every prompt"))
    texts: dict[str, str] = {}
    special_tokens: dict[str, Any] = {}
    for name, where in marks:
        token_id = _special_id(reader, f"{name}_token_id", model, len(tokens))
        if token_id is None:
            raise UnsupportedTokenizerError(
                f"The GGUF asks for a {name.upper()} token {where} but names no valid "
                f"{name.upper()} id."
            )
        text = tokens[token_id]
        texts[name] = text
        special_tokens[text] = {"id": text, "ids": [token_id], "tokens": [text]}

    def template(*sequences: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if "bos" in texts:
            items.append({"SpecialToken": {"id": texts["bos"], "type_id": 0}})
        items.extend({"Sequence": {"id": seq, "type_id": i}} for i, seq in enumerate(sequences))
        if "eos" in texts:
            items.append({"SpecialToken": {"id": texts["eos"], "type_id": 0}})
        return items

    return {
        "type": "TemplateProcessing",
        "single": template("A"),
        "pair": template("A", "B"),
        "special_tokens": special_tokens,
    }


def _vocabulary(
    tokens: list[str], token_types: Sequence[int]
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """(text -> id for every token, the ``added_tokens`` llama.cpp matches whole first)."""
    if len(token_types) != len(tokens):
        raise UnsupportedTokenizerError(
            f"The GGUF lists {len(tokens)} tokens but {len(token_types)} token types."
        )
    vocab: dict[str, int] = {}
    added_tokens: list[dict[str, Any]] = []
    for token_id, (text, token_type) in enumerate(zip(tokens, token_types, strict=True)):
        if text in vocab:
            raise UnsupportedTokenizerError(
                f"The GGUF's vocabulary holds the token {text!r} twice "
                f"(ids {vocab[text]} and {token_id})."
            )
        vocab[text] = token_id
        if token_type in (_TOKEN_UNKNOWN, _TOKEN_CONTROL, _TOKEN_USER_DEFINED):
            added_tokens.append(
                {
                    "id": token_id,
                    "content": text,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    # Control and unknown tokens are markers (dropped by skip_special);
                    # user-defined ones are ordinary text that must not be split.
                    "special": token_type != _TOKEN_USER_DEFINED,
                }
            )
    return vocab, added_tokens


def _tokens(reader: gguf.GGUFReader) -> list[str]:
    # llama.cpp names an empty token "[EMPTY_<id>]"
    return [
        text or f"[EMPTY_{token_id}]"
        for token_id, text in enumerate(_required(reader, "tokenizer.ggml.tokens"))
    ]


def _byte_level_parts(
    reader: gguf.GGUFReader, vocab: dict[str, int]
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any], dict[str, Any], int]:
    """(normalizer, pre-tokenizer, decoder, model, merge count) for a "gpt2" vocabulary."""
    regexes, ignore_merges, _ = _pre_tokenizer_spec(reader)
    merges: list[str] = list(_required(reader, "tokenizer.ggml.merges"))
    pretokenizers: list[dict[str, Any]] = [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}
        for regex in regexes
    ]
    byte_level = {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": False,
        "use_regex": False,
    }
    pretokenizers.append(byte_level)
    model = {
        "type": "BPE",
        "dropout": None,
        "unk_token": None,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": False,
        "ignore_merges": ignore_merges,
        "vocab": vocab,
        "merges": [_split_merge(merge) for merge in merges],
    }
    pre_tokenizer = {"type": "Sequence", "pretokenizers": pretokenizers}
    return None, pre_tokenizer, byte_level, model, len(merges)


def _sentencepiece_parts(
    reader: gguf.GGUFReader, tokens: list[str], vocab: dict[str, int]
) -> tuple[dict[str, Any], None, dict[str, Any], dict[str, Any], int]:
    """(normalizer, pre-tokenizer, decoder, model, merge count) for a "llama" vocabulary."""
    scores: Sequence[float] = _required(reader, "tokenizer.ggml.scores")
    if len(scores) < len(tokens):
        raise UnsupportedTokenizerError(
            f"The GGUF lists {len(tokens)} tokens but only {len(scores)} scores."
        )
    if any(score != score for score in scores):  # NaN: llama.cpp's merge order is undefined
        raise UnsupportedTokenizerError("The GGUF's token scores include NaN.")
    missing = spm_tokenizer.missing_byte_tokens(tokens)
    if missing:
        # llama.cpp stops with an error on any character it has to spell out in such bytes.
        raise UnsupportedTokenizerError(
            f"The GGUF's SentencePiece vocabulary lacks {len(missing)} of the 256 byte "
            f"tokens (e.g. {missing[0]}), so some text could not be tokenized."
        )
    add_space_prefix = _field(reader, "tokenizer.ggml.add_space_prefix")
    add_space_prefix = True if add_space_prefix is None else bool(add_space_prefix)
    merges = spm_tokenizer.merges_from_scores(tokens, scores)
    unk_id = _special_id(reader, "unknown_token_id", _SENTENCEPIECE, len(tokens))
    model = spm_tokenizer.bpe_model(vocab, merges, None if unk_id is None else tokens[unk_id])
    return (
        spm_tokenizer.normalizer(add_space_prefix),
        None,
        spm_tokenizer.decoder(add_space_prefix),
        model,
        len(merges),
    )


def build_tokenizer_json(reader: gguf.GGUFReader) -> str:
    """Return a ``tokenizer.json`` (Hugging Face ``tokenizers`` format) for the GGUF's vocabulary.

    Raises ``UnsupportedTokenizerError`` (a ``ValueError``) naming what is not supported.
    """
    kind = _model_type(reader)
    tokens = _tokens(reader)
    token_types: Sequence[int] = _field(reader, "tokenizer.ggml.token_type") or [
        _TOKEN_NORMAL
    ] * len(tokens)
    vocab, added_tokens = _vocabulary(tokens, token_types)
    normalizer: dict[str, Any] | None
    pre_tokenizer: dict[str, Any] | None
    if kind == _SENTENCEPIECE:
        normalizer, pre_tokenizer, decoder, model, merge_count = _sentencepiece_parts(
            reader, tokens, vocab
        )
    else:
        normalizer, pre_tokenizer, decoder, model, merge_count = _byte_level_parts(reader, vocab)

    post_processor = _post_processor(
        reader,
        kind,
        tokens,
        _add_bos(reader, _add_bos_default(reader, kind)),
        bool(_field(reader, "tokenizer.ggml.add_eos_token")),
    )
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": model,
    }
    logger.info(
        "Rebuilt %s tokenizer: %d tokens, %d merges, %d special/added tokens",
        "SentencePiece" if kind == _SENTENCEPIECE else "byte-level BPE",
        len(vocab),
        merge_count,
        len(added_tokens),
    )
    return json.dumps(document, ensure_ascii=False)


def special_token_ids(reader: gguf.GGUFReader) -> dict[str, Any]:
    """The GGUF's special ids in the manifest's ``special_tokens`` shape.

    ``stop_token_ids``: the eos id plus every control token llama.cpp also treats as an
    end of generation (``<|im_end|>``, ``<|endoftext|>``, ``<|eot_id|>``...).
    """
    kind = _model_type(reader)
    add_bos_default = _add_bos_default(reader, kind)
    tokens: list[str] = list(_required(reader, "tokenizer.ggml.tokens"))
    token_types: Sequence[int] = _field(reader, "tokenizer.ggml.token_type") or []

    def _id(key: str) -> int | None:
        return _special_id(reader, key, kind, len(tokens))

    eos = _id("eos_token_id")
    stops: set[int] = set()
    for key in ("eos_token_id", "eot_token_id", "eom_token_id"):
        value = _id(key)
        if value is not None:
            stops.add(value)
    for token_id, text in enumerate(tokens):
        is_control = token_id < len(token_types) and token_types[token_id] == _TOKEN_CONTROL
        if text in _END_OF_GENERATION_TEXTS and is_control:
            stops.add(token_id)
    return {
        "bos_token_id": _id("bos_token_id"),
        "eos_token_id": eos,
        "pad_token_id": _id("padding_token_id"),
        "unk_token_id": _id("unknown_token_id"),
        "stop_token_ids": sorted(stops),
        "add_bos_token": _add_bos(reader, add_bos_default),
    }
