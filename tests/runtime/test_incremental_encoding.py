"""Re-encoding only a text's changed end gives exactly the ids of encoding it whole, for every
pre-tokenizer the model builder writes, and really reuses the earlier ids."""

from __future__ import annotations

import json
import random
from pathlib import Path

import gguf
import pytest
import tokenizers

from benchmarks.generation_vs_llamacpp import TYPED_SENTENCES, document
from inference.export.gguf_tokenizer import build_tokenizer_json, supported_pre_tokenizers
from inference.model_folder import find_default_model
from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings, SamplingSettings
from inference.runtime.incremental_encoding import (
    MIN_REMEMBERED_CHARS,
    PrefixReuseEncoder,
    common_prefix_length,
    first_safe_cut,
    safe_cut,
    supports_prefix_reuse,
)
from inference.runtime.prompts import build_prompt
from inference.runtime.text_codec import TextCodec
from tests.export.conftest import find_default_gguf, finish
from tests.tiny_vocab import add_tiny_tokenizer

# Pieces that meet at tricky boundaries: contractions, digits, runs of spaces and line
# breaks, punctuation, accents, CJK, emoji split over byte tokens, camel case, markers.
FRAGMENTS = (
    "the",
    " the",
    "The",
    " lighthouse",
    "'s",
    "'t",
    "'ll",
    " don't",
    " 1,024",
    "2026",
    " 3.14",
    ".",
    ",",
    "!",
    "?",
    "...",
    "\u2026",
    " \u2014 ",
    "\u201cyes\u201d",
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n",
    " \n",
    "\t",
    " caf\u00e9",
    " na\u0308ive",
    " \u65e5\u672c\u8a9e",
    " \U0001f600",
    "\U0001f468\u200d\U0001f469",
    " camelCase",
    "HTTPServer",
    "<|im_start|>",
    "<|im_end|>",
    " (aside)",
    "[note]",
    " x",
    "a",
)


def _random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(FRAGMENTS) for _ in range(pieces))


def _tokenizer_json(pre: str, folder: Path) -> str:
    path = folder / f"{pre}.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    add_tiny_tokenizer(writer, pre=pre)
    finish(writer)
    return build_tokenizer_json(gguf.GGUFReader(str(path)))


@pytest.fixture(scope="module")
def smollm_json(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SmolLM2's tokenizer (the default model's, else rebuilt from its GGUF)."""
    model = find_default_model()
    if model is not None and model.tokenizer_path.is_file():
        return model.tokenizer_path.read_text(encoding="utf-8")
    folder = tmp_path_factory.mktemp("smollm2-tokenizer")
    gguf_path = find_default_gguf(folder)
    if gguf_path is None:
        pytest.skip("the default model is not built and its GGUF was not found")
    return build_tokenizer_json(gguf.GGUFReader(str(gguf_path)))


def _backends(smollm_json: str, folder: Path) -> dict[str, tokenizers.Tokenizer]:
    """Every pre-tokenizer the builder writes, on the tiny vocabulary and on SmolLM2's (its
    merges make long tokens, so a boundary error would show)."""
    real = json.loads(smollm_json)
    backends = {}
    for pre in supported_pre_tokenizers():
        tiny = _tokenizer_json(pre, folder)
        backends[f"tiny-{pre}"] = tokenizers.Tokenizer.from_str(tiny)
        real["pre_tokenizer"] = json.loads(tiny)["pre_tokenizer"]
        backends[f"smollm2-{pre}"] = tokenizers.Tokenizer.from_str(json.dumps(real))
    return backends


@pytest.fixture(scope="module")
def backends(
    smollm_json: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tokenizers.Tokenizer]:
    return _backends(smollm_json, tmp_path_factory.mktemp("pre-tokenizers"))


def _check(encoder: PrefixReuseEncoder, backend: tokenizers.Tokenizer, text: str) -> int:
    got = encoder.encode(text)
    whole = backend.encode(text, add_special_tokens=False)
    assert got.ids == whole.ids, repr(text[-80:])
    assert got.offsets == whole.offsets, repr(text[-80:])
    return got.reused_chars


def test_every_builder_pre_tokenizer_is_supported(
    backends: dict[str, tokenizers.Tokenizer],
) -> None:
    assert len(backends) >= 2 * 8
    for name, backend in backends.items():
        assert supports_prefix_reuse(backend), name


def test_edits_near_the_end_give_the_whole_encode(
    backends: dict[str, tokenizers.Tokenizer],
) -> None:
    rng = random.Random(18)
    for name, backend in backends.items():
        encoder = PrefixReuseEncoder(backend)
        reused = 0
        text = _random_text(rng, 150)
        for _ in range(60):
            edit = rng.random()
            if edit < 0.45:  # typing on
                text += _random_text(rng, rng.randint(1, 4))
            elif edit < 0.6:  # backspace
                text = text[: -rng.randint(1, 12)] or "x"
            elif edit < 0.7:  # a change a little before the end
                at = max(0, len(text) - rng.randint(1, 60))
                text = text[:at] + rng.choice(FRAGMENTS) + text[at + rng.randint(0, 3) :]
            elif edit < 0.8:  # a window of the last N characters: its start moves on
                text = text[rng.randint(1, 30) :] + _random_text(rng, rng.randint(0, 3))
            else:  # the prompt around the text: a paragraph break after it
                _check(encoder, backend, text + "\n\n")
            reused += _check(encoder, backend, text) > 0
        assert reused > 30, name  # the point: most edits re-encoded only the tail


def test_every_cut_point_of_a_document(backends: dict[str, tokenizers.Tokenizer]) -> None:
    """Each text is a prefix of the last one plus one more fragment, at every place."""
    rng = random.Random(7)
    base = document(200) + _random_text(rng, 80)
    for name in ("smollm2-smollm", "smollm2-llama3", "smollm2-tekken", "smollm2-default"):
        backend = backends[name]
        encoder = PrefixReuseEncoder(backend)
        for start in range(len(base) - 120, len(base)):
            encoder.forget()
            _check(encoder, backend, base)
            _check(encoder, backend, base[:start] + rng.choice(FRAGMENTS))


def test_the_benchmark_document_reuses_all_but_the_new_sentence(smollm_json: str) -> None:
    backend = tokenizers.Tokenizer.from_str(smollm_json)
    encoder = PrefixReuseEncoder(backend)
    text = document(1000)
    assert _check(encoder, backend, text) == 0  # nothing to reuse yet
    assert _check(encoder, backend, text) == len(text)  # the same text: nothing encoded
    for sentence in TYPED_SENTENCES:
        before = len(text)
        text += sentence
        reused = _check(encoder, backend, text)
        assert before - 20 < reused <= before
        assert _check(encoder, backend, text + "\n\n") >= before


def test_a_sliding_window_of_the_document(smollm_json: str) -> None:
    """The editor sends the last 12,000 characters before the cursor: after more typing the
    window lost as many characters at its start as were typed at its end."""
    backend = tokenizers.Tokenizer.from_str(smollm_json)
    encoder = PrefixReuseEncoder(backend)
    text = document(3000)
    window = 6000
    _check(encoder, backend, text[-window:])
    for sentence in TYPED_SENTENCES * 3:
        text += sentence
        reused = _check(encoder, backend, text[-window:])
        assert reused > window - 200
    for cut in range(1, 80):  # every alignment of the window's first word
        encoder.forget()
        _check(encoder, backend, text[-window - cut :])
        assert _check(encoder, backend, text[-window:]) > window - 200


def test_tokenizers_it_cannot_vouch_for_are_encoded_whole(smollm_json: str) -> None:
    config = json.loads(smollm_json)
    whitespace_marker = json.loads(smollm_json)
    whitespace_marker["added_tokens"].append(
        {
            "id": 0,
            "content": "a b",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
    )
    look_behind = json.loads(smollm_json)
    look_behind["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"] = r"(?<=a) |\s+|\S+"
    words_with_spaces = json.loads(smollm_json)
    words_with_spaces["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"] = (
        r"\p{L}+ \p{L}+|\s+|\S"
    )
    normalized = dict(config, normalizer={"type": "NFC"})
    for bad in (whitespace_marker, look_behind, words_with_spaces, normalized):
        backend = tokenizers.Tokenizer.from_str(json.dumps(bad))
        encoder = PrefixReuseEncoder(backend)
        assert not encoder.enabled
        text = document(100)
        _check(encoder, backend, text)
        assert _check(encoder, backend, text + " More words.") == 0


def test_safe_cut_and_common_prefix() -> None:
    text = "one two, three 4 five"
    assert safe_cut(text, 100) == len("one two, three")  # not after the digit
    assert safe_cut(text, len("one two, three")) == len("one")  # the space itself must fit
    assert safe_cut(text, len("one two, three ")) == len("one two, three")
    assert safe_cut("  \u00e9 x", 10) == 0  # only after an ASCII letter
    assert first_safe_cut(text, 1, 100) == len("one")
    assert first_safe_cut(text, 4, 100) == len("one two, three")
    assert first_safe_cut(text, 4, 14) == -1
    assert common_prefix_length("abcdef", "abcxef") == 3
    assert common_prefix_length("abc", "abcdef") == 3
    assert common_prefix_length("", "abc") == 0
    long = "x" * 10_000
    assert common_prefix_length(long + "a", long + "b") == 10_000


def test_short_texts_are_not_remembered(smollm_json: str) -> None:
    backend = tokenizers.Tokenizer.from_str(smollm_json)
    encoder = PrefixReuseEncoder(backend)
    short = "word " * (MIN_REMEMBERED_CHARS // 5 - 2)
    assert _check(encoder, backend, short) == 0
    assert _check(encoder, backend, short + "more") == 0


def test_the_codec_encodes_prompts_incrementally(smollm_json: str, tmp_path: Path) -> None:
    """What the continue prompt goes through (fit, count, encode) reuses the last request."""
    path = tmp_path / "tokenizer.json"
    path.write_text(smollm_json, encoding="utf-8")
    codec = TextCodec.from_file(path)
    text = document(1000)
    codec.encode_with_offsets(text)
    text += TYPED_SENTENCES[0]
    ids, offsets = codec.encode_with_offsets(text)
    assert codec.encoder.encode(text).reused_chars == len(text)
    whole = codec.tokenizer.backend.encode(text, add_special_tokens=False)
    assert (ids, offsets) == (whole.ids, whole.offsets)
    assert codec.encode(text + "\n\n") == codec.tokenizer.encode(text + "\n\n")
    assert codec.count(text) == len(whole.ids)


def test_warm_continue_prompts_equal_fresh_ones_and_compute_only_the_new_text(
    runtime_model_dir: Path,
) -> None:
    """The editor's path: continue, type a sentence, continue again."""
    model = LocalModel.load(runtime_model_dir, RuntimeSettings(device="cpu", threads=1))
    greedy = SamplingSettings(temperature=0, repetition_penalty=1.0)

    def request(text: str) -> GenerationRequest:
        return GenerationRequest("continue", before=text, sampling=greedy, max_new_tokens=4)

    text = document(40)  # the tiny model reads 256 tokens: the whole text fits
    model.run(request(text))
    for sentence in (" The fog came.", " A bell rang.", " She wrote it down."):
        text += sentence
        fresh = TextCodec.from_file(model.folder.tokenizer_path)  # remembers nothing
        expected = build_prompt(request(text).validated(), fresh, model.text_info).token_ids
        assert model.plan(request(text)).token_ids == expected
        assert model.codec.encoder.encode(text).reused_chars == len(text)  # planned already
        result = model.run(request(text))
        assert result.stats.computed_prompt_tokens <= len(fresh.encode(sentence)) + 2
