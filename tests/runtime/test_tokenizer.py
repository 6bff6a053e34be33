"""The run-time tokenizer: llama.cpp's ids, lossless decoding, and streaming that never emits
half a character."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import gguf
import pytest
import tokenizers
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from inference.export.gguf_tokenizer import build_tokenizer_json
from inference.model_folder import find_default_model
from inference.runtime.errors import ModelUnavailableError
from inference.runtime.tokenizer import StreamDecoder, Tokenizer, TokenizerError
from tests.export.conftest import RECORDED_IDS, find_default_gguf, finish
from tests.tiny_vocab import add_tiny_tokenizer, bytes_to_unicode

CORPUS = (
    "Once upon a time, the clockmaker's daughter wrote 1,024 letters \u2014 none were sent.\n\n"
    "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9, cafe\u0301 (combining), "
    "\u00c5ngstr\u00f6m.\n"
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3002\u4f60\u597d\uff0c\u4e16\u754c\uff01 "
    "\ud55c\uad6d\uc5b4 \u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u0631\u062d\u0628\u0627\n"
    "Emoji: \U0001f600 \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
    "\U0001f44d\U0001f3fd \U0001f1eb\U0001f1f7 1\ufe0f\u20e3\n"
    "<|im_start|>user\nContinue my story, please.<|im_end|>\n<|im_start|>assistant\n"
    "def f(x):\n\treturn x ** 2  # squares\n"
)


def _stream(decoder: StreamDecoder, ids: list[int]) -> list[str]:
    return [decoder.push(token_id) for token_id in ids]


def _write_tiny_tokenizer(folder: Path) -> Path:
    gguf_path = folder / "tiny.gguf"
    writer = gguf.GGUFWriter(str(gguf_path), "llama")
    add_tiny_tokenizer(writer)
    finish(writer)
    path = folder / "tokenizer.json"
    path.write_text(build_tokenizer_json(gguf.GGUFReader(str(gguf_path))), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-model")
    _write_tiny_tokenizer(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tiny_folder: Path) -> Tokenizer:
    return Tokenizer.from_model_folder(tiny_folder)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """SmolLM2's tokenizer: from the built default model, else rebuilt from its GGUF."""
    model = find_default_model()
    if model is not None and model.tokenizer_path.is_file():
        return Tokenizer.from_file(model.tokenizer_path)
    folder = tmp_path_factory.mktemp("smollm2-tokenizer")
    gguf_path = find_default_gguf(folder)
    if gguf_path is None:
        pytest.skip("the default model is not built and its GGUF was not found")
    path = folder / "tokenizer.json"
    path.write_text(build_tokenizer_json(gguf.GGUFReader(str(gguf_path))), encoding="utf-8")
    return Tokenizer.from_file(path)


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads(RECORDED_IDS.read_text(encoding="utf-8"))


@functools.cache
def _missing_bytes(tokenizer: Tokenizer) -> frozenset[int]:
    vocab = tokenizer.backend.get_vocab()
    return frozenset(b for b, char in bytes_to_unicode().items() if char not in vocab)


def _representable(tokenizer: Tokenizer, text: str) -> bool:
    """Whether every byte of ``text`` has a token (SmolLM2 lacks 21 byte tokens)."""
    return not set(text.encode("utf-8")) & _missing_bytes(tokenizer)


class TestEncodeDecode:
    def test_ids_and_text_equal_llamacpp(self, real: Tokenizer, recorded: dict[str, Any]) -> None:
        for text, ids in recorded["token_ids"].items():
            assert real.encode(text) == ids, text
            assert real.decode(ids, skip_special=False) == recorded["detokenized"][text]

    def test_chat_markers_are_single_ids(self, real: Tokenizer) -> None:
        assert real.encode("<|im_start|>user\nHi<|im_end|>") == [1, 4093, 198, 26843, 2]
        assert real.special_ids >= {0, 1, 2}
        assert real.vocab_size == 49152

    def test_decode_can_drop_markers(self, real: Tokenizer) -> None:
        ids = real.encode("<|im_start|>assistant\nHi there<|im_end|>")
        assert real.decode(ids, skip_special=True) == "assistant\nHi there"
        assert real.decode(ids) == "<|im_start|>assistant\nHi there<|im_end|>"

    def test_token_count(self, real: Tokenizer) -> None:
        assert real.token_count("") == 0
        assert real.token_count("Hello world") == 2
        assert real.token_count("<|im_start|>") == 1
        assert real.token_count(CORPUS) == len(real.encode(CORPUS))

    def test_no_bos_unless_the_model_asks(self, real: Tokenizer) -> None:
        assert real.encode("Hello", add_special_tokens=True) == real.encode("Hello")

    def test_unknown_ids_decode_to_nothing(self, real: Tokenizer) -> None:
        assert real.decode([19556, 10**6, -1, 905]) == "Hello world"
        assert real.token_bytes(10**6) == b""
        assert real.token_bytes(19556) == b"Hello"

    def test_byte_table_agrees_with_the_library_decoder(self, real: Tokenizer) -> None:
        rng = random.Random(7)
        for _ in range(500):
            ids = [rng.randrange(real.vocab_size) for _ in range(rng.randint(1, 12))]
            for skip in (False, True):
                expected = real.backend.decode(ids, skip_special_tokens=skip)
                assert real.decode(ids, skip_special=skip) == expected

    @settings(max_examples=200, deadline=None)
    @given(text=st.text(max_size=120))
    def test_round_trip(self, real: Tokenizer, text: str) -> None:
        assume(_representable(real, text))
        assert real.decode(real.encode(text)) == text


class TestStreamDecoder:
    def test_emoji_split_over_tokens_comes_out_whole(self, real: Tokenizer) -> None:
        ids = real.encode("\U0001f600")
        assert len(ids) == 3  # one character, three byte-level tokens
        assert _stream(real.stream_decoder(), ids) == ["", "", "\U0001f600"]

    def test_zwj_family_never_shows_a_broken_character(self, real: Tokenizer) -> None:
        text = "A \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family"
        ids = real.encode(text)
        pieces = _stream(real.stream_decoder(), ids)
        assert "".join(pieces) == text
        assert all("\ufffd" not in piece for piece in pieces)
        assert len(ids) > len(text.split())  # really split across many tokens

    def test_cjk(self, real: Tokenizer) -> None:
        text = "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u4f60\u597d"
        ids = real.encode(text)
        pieces = _stream(real.stream_decoder(), ids)
        assert "".join(pieces) == text
        assert all("\ufffd" not in piece for piece in pieces)
        assert "" in pieces  # some tokens end mid-character and were held back

    def test_combining_marks(self, real: Tokenizer) -> None:
        text = "cafe\u0301 na\u0308ive \u0928\u092e\u0938\u094d\u0924\u0947"
        decoder = real.stream_decoder()
        pieces = _stream(decoder, real.encode(text))
        assert "".join(pieces) + decoder.flush() == text
        assert all("\ufffd" not in piece for piece in pieces)

    def test_tiny_vocabulary_holds_back_bytes(self, tiny: Tokenizer) -> None:
        ids = tiny.encode("\u00e9\U0001f600")
        assert len(ids) == 6  # one token per byte
        assert _stream(tiny.stream_decoder(), ids) == ["", "\u00e9", "", "", "", "\U0001f600"]

    def test_markers_skipped_by_default_and_kept_on_request(self, real: Tokenizer) -> None:
        ids = real.encode("<|im_start|>assistant\nHi \U0001f600<|im_end|>")
        assert "".join(_stream(real.stream_decoder(), ids)) == "assistant\nHi \U0001f600"
        kept = "".join(_stream(real.stream_decoder(skip_special=False), ids))
        assert kept == "<|im_start|>assistant\nHi \U0001f600<|im_end|>"

    def test_step_returns_none_until_text_is_complete(self, real: Tokenizer) -> None:
        decoder = real.stream_decoder()
        ids = real.encode("\U0001f600!")
        assert [decoder.step(i) for i in ids] == [None, None, "\U0001f600", "!"]

    def test_flush_turns_a_dangling_half_character_into_one_replacement(
        self, real: Tokenizer
    ) -> None:
        decoder = real.stream_decoder()
        half = real.encode("\U0001f600")[:2]
        assert _stream(decoder, half) == ["", ""]
        assert decoder.flush() == "\ufffd"
        assert decoder.flush() == ""
        assert _stream(decoder, real.encode("ok")) == ["ok"]  # a clean start after flush

    def test_reset_forgets_held_back_bytes(self, real: Tokenizer) -> None:
        decoder = real.stream_decoder()
        _stream(decoder, real.encode("\U0001f600")[:2])
        decoder.reset()
        assert "".join(_stream(decoder, real.encode("fine"))) + decoder.flush() == "fine"

    def test_stream_equals_full_decode_for_slices_of_real_text(self, real: Tokenizer) -> None:
        # Slices start and end mid-character and mid-marker; whatever the ids, the stream
        # must say exactly what decoding them all at once says.
        ids = real.encode(CORPUS * 3)
        rng = random.Random(20261129)
        for _ in range(1500):
            start = rng.randrange(len(ids))
            chunk = ids[start : start + rng.randint(1, 40)]
            for skip in (True, False):
                decoder = real.stream_decoder(skip_special=skip)
                streamed = "".join(_stream(decoder, chunk)) + decoder.flush()
                assert streamed == real.decode(chunk, skip_special=skip)
                assert streamed == real.backend.decode(chunk, skip_special_tokens=skip)

    def test_stream_equals_full_decode_for_random_ids(self, real: Tokenizer) -> None:
        rng = random.Random(3)
        for _ in range(500):
            chunk = [rng.randrange(real.vocab_size) for _ in range(rng.randint(1, 20))]
            decoder = real.stream_decoder(skip_special=False)
            streamed = "".join(_stream(decoder, chunk)) + decoder.flush()
            assert streamed == real.decode(chunk)

    @settings(max_examples=200, deadline=None)
    @given(text=st.text(max_size=80))
    def test_valid_text_streams_without_replacement_characters(
        self, tiny: Tokenizer, text: str
    ) -> None:
        decoder = tiny.stream_decoder(skip_special=False)
        pieces = _stream(decoder, tiny.encode(text))
        assert decoder.flush() == ""
        assert "".join(pieces) == text
        assert sum(piece.count("\ufffd") for piece in pieces) == text.count("\ufffd")

    def test_accepts_a_library_tokenizer_and_reuses_its_table(self, real: Tokenizer) -> None:
        library = tokenizers.Tokenizer.from_str(real.backend.to_str())
        first = StreamDecoder(library)
        second = StreamDecoder(library)
        assert first._table is second._table
        ids = real.encode("<|im_start|>x\U0001f600")
        assert "".join(_stream(first, ids)) == "x\U0001f600"


class TestLoading:
    def test_from_model_folder(self, tiny_folder: Path) -> None:
        tokenizer = Tokenizer.from_model_folder(tiny_folder)
        assert tokenizer.decode(tokenizer.encode("the end")) == "the end"

    def test_missing_file_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(TokenizerError, match=r"missing.*draftsmith-model build"):
            Tokenizer.from_model_folder(tmp_path)

    def test_corrupt_file_is_a_clear_error(self, tmp_path: Path, tiny_folder: Path) -> None:
        good = (tiny_folder / "tokenizer.json").read_text(encoding="utf-8")
        (tmp_path / "tokenizer.json").write_text(good[: len(good) // 2], encoding="utf-8")
        with pytest.raises(ModelUnavailableError, match="cannot be read"):
            Tokenizer.from_model_folder(tmp_path)


def test_a_blank_end_is_split_as_running_text_splits_it(real: Tokenizer) -> None:
    """``TextCodec.encode_before_words``: the ids a text's end has when words follow it."""
    from inference.runtime.text_codec import TextCodec

    codec = TextCodec(real)
    text = "The tide went out."
    for end in ("\n\n", "\n"):
        running = codec.encode(text + end + "She")  # "She": one token
        assert codec.encode_before_words(text + end) == running[: len(running) - 1]
    assert codec.encode(text + "\n\n")[-1:] != codec.encode("\n")  # one token at the very end
    for unchanged in (text, text + " ", ""):  # a space joins the word: left as it is
        assert codec.encode_before_words(unchanged) == codec.encode(unchanged)
