"""The tokenizer rebuilt from GGUF metadata gives llama.cpp's ids and decodes losslessly."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gguf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from inference.export.gguf_tokenizer import (
    UnsupportedTokenizerError,
    build_tokenizer_json,
    special_token_ids,
)
from tests.export.conftest import finish, tokenizer_fields, write_tokenizer_gguf
from tests.tiny_vocab import (
    CONTROL_TOKENS,
    MERGES,
    add_tiny_tokenizer,
    bytes_to_unicode,
    tiny_tokens,
)


def _encode(tokenizer: Tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False).ids


@functools.cache
def _missing_bytes(tokenizer: Tokenizer) -> frozenset[int]:
    """Bytes the vocabulary has no byte-level token for."""
    vocab = tokenizer.get_vocab()
    return frozenset(b for b, char in bytes_to_unicode().items() if char not in vocab)


def _mismatches(tokenizer: Tokenizer, expected: dict[str, list[int]]) -> list[str]:
    report = []
    for text, ids in expected.items():
        got = _encode(tokenizer, text)
        if got != ids:
            report.append(f"{text!r}\n  ours:      {got}\n  llama.cpp: {ids}")
    return report


@pytest.fixture(scope="module")
def default_tokenizer(default_reader: gguf.GGUFReader) -> Tokenizer:
    return Tokenizer.from_str(build_tokenizer_json(default_reader))


@pytest.fixture()
def tiny_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    add_tiny_tokenizer(writer)
    finish(writer)
    return path


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    path = tmp_path_factory.mktemp("tiny") / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    add_tiny_tokenizer(writer)
    finish(writer)
    return Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))


class TestDefaultModelAgainstLlamaCpp:
    def test_recording_is_broad(self, recorded_ids: dict[str, Any]) -> None:
        texts = recorded_ids["token_ids"]
        assert len(texts) >= 300
        assert recorded_ids["llama_cpp_python_version"] == "0.3.36"
        joined = "".join(texts)
        for sample in ("<|im_start|>", "\U0001f468\u200d\U0001f469", "\u4f60", "\t", "1234", "'ll"):
            assert sample in joined

    def test_ids_equal_llamacpp(
        self, default_tokenizer: Tokenizer, recorded_ids: dict[str, Any]
    ) -> None:
        problems = _mismatches(default_tokenizer, recorded_ids["token_ids"])
        assert not problems, f"{len(problems)} texts differ:\n" + "\n".join(problems[:10])

    def test_decode_equals_llamacpp_detokenize(
        self, default_tokenizer: Tokenizer, recorded_ids: dict[str, Any]
    ) -> None:
        for text, ids in recorded_ids["token_ids"].items():
            ours = default_tokenizer.decode(ids, skip_special_tokens=False)
            assert ours == recorded_ids["detokenized"][text]

    def test_recorded_texts_round_trip(
        self, default_tokenizer: Tokenizer, recorded_ids: dict[str, Any]
    ) -> None:
        missing = _missing_bytes(default_tokenizer)
        representable = [t for t in recorded_ids["token_ids"] if not set(t.encode()) & missing]
        assert len(representable) >= 300
        for text in representable:
            ids = _encode(default_tokenizer, text)
            assert default_tokenizer.decode(ids, skip_special_tokens=False) == text

    @settings(max_examples=300, deadline=None)
    @given(text=st.text(max_size=200))
    def test_any_text_round_trips(self, default_tokenizer: Tokenizer, text: str) -> None:
        # SmolLM2's vocabulary lacks a few byte tokens (see test_unrepresentable_bytes...).
        assume(not set(text.encode("utf-8")) & _missing_bytes(default_tokenizer))
        ids = _encode(default_tokenizer, text)
        assert default_tokenizer.decode(ids, skip_special_tokens=False) == text

    def test_unrepresentable_bytes_are_dropped_like_llamacpp(
        self, default_tokenizer: Tokenizer, recorded_ids: dict[str, Any]
    ) -> None:
        # A property of the model's vocabulary, not of the rebuild: no token exists for these
        # bytes, so characters made of them are lost, in llama.cpp exactly as here.
        missing = _missing_bytes(default_tokenizer)
        assert {0x04, 0xF1, 0xF2} <= missing
        assert len(missing) == 21
        text = "plane four \U00040000 and \U00080000 code points"
        assert _encode(default_tokenizer, text) == recorded_ids["token_ids"][text]
        assert "\U00040000" not in default_tokenizer.decode(_encode(default_tokenizer, text))

    def test_every_control_token_is_one_id(
        self, default_tokenizer: Tokenizer, default_reader: gguf.GGUFReader
    ) -> None:
        fields = tokenizer_fields(default_reader)
        kinds = fields["tokenizer.ggml.token_type"]
        controls = [
            (token_id, text)
            for token_id, text in enumerate(fields["tokenizer.ggml.tokens"])
            if kinds[token_id] == gguf.TokenType.CONTROL
        ]
        assert len(controls) == 17
        for token_id, text in controls:
            assert _encode(default_tokenizer, f"a{text}b") == [
                *_encode(default_tokenizer, "a"),
                token_id,
                *_encode(default_tokenizer, "b"),
            ]

    def test_special_ids(self, default_reader: gguf.GGUFReader) -> None:
        assert special_token_ids(default_reader) == {
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": 2,
            "unk_token_id": 0,
            "stop_token_ids": [0, 2],
            "add_bos_token": False,
        }

    def test_no_bos_is_added(self, default_tokenizer: Tokenizer) -> None:
        assert default_tokenizer.encode("Hello", add_special_tokens=True).ids == [19556]

    def test_skip_special_drops_chat_markers(self, default_tokenizer: Tokenizer) -> None:
        ids = _encode(default_tokenizer, "<|im_start|>assistant\nHi there<|im_end|>")
        assert default_tokenizer.decode(ids, skip_special_tokens=True) == "assistant\nHi there"

    @pytest.mark.parametrize("pre", ["gpt-2", "starcoder", "llama-bpe", "default"])
    def test_other_pre_tokenizers_equal_llamacpp(
        self,
        pre: str,
        default_reader: gguf.GGUFReader,
        recorded_ids: dict[str, Any],
        tmp_path: Path,
    ) -> None:
        # Same vocabulary and merges, another tokenizer.ggml.pre (what the recorder did).
        fields = tokenizer_fields(default_reader) | {"tokenizer.ggml.pre": pre}
        reader = gguf.GGUFReader(str(write_tokenizer_gguf(tmp_path / f"{pre}.gguf", fields)))
        tokenizer = Tokenizer.from_str(build_tokenizer_json(reader))
        problems = _mismatches(tokenizer, recorded_ids["other_pre_tokenizers"][pre])
        assert not problems, f"{len(problems)} texts differ:\n" + "\n".join(problems[:10])


class TestTinyVocabulary:
    def test_vocab_size_is_returned(self, tiny_gguf: Path) -> None:
        reader = gguf.GGUFReader(str(tiny_gguf))
        tokens = tokenizer_fields(reader)["tokenizer.ggml.tokens"]
        assert len(tokens) == len(tiny_tokens())
        assert 256 + len(CONTROL_TOKENS) < len(tokens) <= 256 + len(CONTROL_TOKENS) + len(MERGES)
        template = reader.get_field("tokenizer.chat_template")
        assert template is not None
        assert template.contents().startswith("{% for")

    def test_round_trip(self, tiny_tokenizer: Tokenizer) -> None:
        for text in (
            "The cat and the hat.",
            "<|im_start|>user\nWrite me a story<|im_end|>\n<|im_start|>assistant\n",
            "caf\u00e9 \u65e5\u672c \U0001f468\u200d\U0001f469\u200d\U0001f467 12345\t\r\n  end  ",
        ):
            ids = _encode(tiny_tokenizer, text)
            assert tiny_tokenizer.decode(ids, skip_special_tokens=False) == text

    def test_merges_and_markers_apply(self, tiny_tokenizer: Tokenizer) -> None:
        vocab = tiny_tokenizer.get_vocab()
        assert _encode(tiny_tokenizer, " the") == [vocab["Ġthe"]]
        assert _encode(tiny_tokenizer, "<|im_start|><|im_end|><|endoftext|>") == [1, 2, 0]
        assert _encode(tiny_tokenizer, "42") == [vocab["4"], vocab["2"]]

    def test_ids_equal_llamacpp(
        self, tiny_tokenizer: Tokenizer, recorded_ids: dict[str, Any]
    ) -> None:
        problems = _mismatches(tiny_tokenizer, recorded_ids["tiny_vocab"]["token_ids"])
        assert not problems, (
            "tests/tiny_vocab.py changed since llama.cpp's ids were recorded? Re-run "
            "benchmarks/record_llamacpp_token_ids.py.\n" + "\n".join(problems[:10])
        )

    def test_special_ids(self, tiny_gguf: Path) -> None:
        ids = special_token_ids(gguf.GGUFReader(str(tiny_gguf)))
        assert ids["eos_token_id"] == 2
        assert ids["stop_token_ids"] == [0, 2]
        assert ids["add_bos_token"] is False


def _tiny_fields(**changes: Any) -> dict[str, Any]:
    tokens = tiny_tokens()
    fields: dict[str, Any] = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smollm",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3, 3, 3] + [1] * (len(tokens) - 3),
        "tokenizer.ggml.merges": list(MERGES),
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
    }
    for key, value in changes.items():
        full = "tokenizer.ggml." + key
        if value is None:
            fields.pop(full)
        else:
            fields[full] = value
    return fields


def _reader(tmp_path: Path, **changes: Any) -> gguf.GGUFReader:
    path = write_tokenizer_gguf(tmp_path / "t.gguf", _tiny_fields(**changes))
    return gguf.GGUFReader(str(path))


class TestRefusals:
    def test_unknown_tokenizer_kind_is_refused_by_name(self, tmp_path: Path) -> None:
        # SentencePiece ("llama") is supported: tests/export/test_spm_tokenizer.py
        reader = _reader(tmp_path, model="bert")
        with pytest.raises(UnsupportedTokenizerError, match="'bert'"):
            build_tokenizer_json(reader)
        with pytest.raises(ValueError, match="'bert'"):
            special_token_ids(reader)

    def test_unknown_pre_tokenizer_is_refused_by_name(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedTokenizerError, match=r"'chatglm-bpe'.*smollm"):
            build_tokenizer_json(_reader(tmp_path, pre="chatglm-bpe"))

    def test_gpt2_spelled_without_hyphen_is_refused(self, tmp_path: Path) -> None:
        # llama.cpp knows GPT-2's regex as "gpt-2"; for "gpt2" it would silently use another.
        with pytest.raises(UnsupportedTokenizerError, match="'gpt2'"):
            build_tokenizer_json(_reader(tmp_path, pre="gpt2"))

    def test_missing_pre_means_default(self, tmp_path: Path) -> None:
        # llama.cpp falls back to its "default" regexes when the key is absent.
        tokenizer = Tokenizer.from_str(build_tokenizer_json(_reader(tmp_path, pre=None)))
        assert tokenizer.decode(_encode(tokenizer, "a 123, b")) == "a 123, b"

    def test_missing_vocabulary_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedTokenizerError, match=r"tokenizer\.ggml\.merges"):
            build_tokenizer_json(_reader(tmp_path, merges=None))

    def test_mismatched_token_types_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedTokenizerError, match="token types"):
            build_tokenizer_json(_reader(tmp_path, token_type=[1, 1, 1]))

    def test_duplicate_tokens_are_refused(self, tmp_path: Path) -> None:
        tokens = tiny_tokens()
        tokens[-1] = tokens[-2]
        with pytest.raises(UnsupportedTokenizerError, match="twice"):
            build_tokenizer_json(_reader(tmp_path, tokens=tokens))

    def test_malformed_merge_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedTokenizerError, match="malformed"):
            build_tokenizer_json(_reader(tmp_path, merges=["Ġt"]))


class TestBosRule:
    def test_add_bos_true_prepends_bos_when_special_tokens_are_added(self, tmp_path: Path) -> None:
        reader = _reader(tmp_path, pre="llama-bpe", add_bos_token=True)
        tokenizer = Tokenizer.from_str(build_tokenizer_json(reader))
        plain = _encode(tokenizer, "Hi there")
        assert tokenizer.encode("Hi there", add_special_tokens=True).ids == [1, *plain]
        assert special_token_ids(reader)["add_bos_token"] is True

    def test_llama3_defaults_to_bos_like_llamacpp(self, tmp_path: Path) -> None:
        reader = _reader(tmp_path, pre="llama-bpe")
        assert special_token_ids(reader)["add_bos_token"] is True

    def test_add_eos_appends_eos_like_llamacpp(self, tmp_path: Path) -> None:
        reader = _reader(tmp_path, add_eos_token=True)
        tokenizer = Tokenizer.from_str(build_tokenizer_json(reader))
        plain = _encode(tokenizer, "Hi there")
        assert tokenizer.encode("Hi there", add_special_tokens=True).ids == [*plain, 2]

    def test_add_bos_without_valid_bos_id_is_refused(self, tmp_path: Path) -> None:
        reader = _reader(tmp_path, add_bos_token=True, bos_token_id=10_000)
        with pytest.raises(UnsupportedTokenizerError, match="BOS"):
            build_tokenizer_json(reader)
