"""SentencePiece ("llama") GGUF vocabularies rebuilt as ``tokenizers`` JSON, without llama.cpp:
the known SentencePiece behaviours on hand-made vocabularies, and ids equal to a line-for-line
port of llama.cpp's algorithm (tests/spm_reference.py) on a trained 2.5k-token vocabulary.
(llama.cpp itself: tests/export/test_llamacpp_architectures.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from inference.export.checks import CheckFailed, CheckReport, check_tokenizer
from inference.export.gguf_tokenizer import (
    UnsupportedTokenizerError,
    build_tokenizer_json,
    special_token_ids,
)
from inference.export.spm_tokenizer import merges_from_scores
from inference.runtime.prompts import ModelTextInfo, build_prompt
from inference.runtime.tasks import GenerationRequest
from inference.runtime.text_codec import TextCodec
from inference.runtime.tokenizer import Tokenizer as RuntimeTokenizer
from tests.export.conftest import finish, write_tokenizer_gguf
from tests.spm_reference import SpmReference
from tests.spm_vocab import CORPUS, spm_tokenizer_fields
from tests.tiny_vocab import add_tiny_tokenizer

BYTES = [f"<0x{b:02X}>" for b in range(256)]
BYTE0 = 3  # id of <0x00> in the hand-made vocabularies


def _micro_fields(pieces: dict[str, float], **changes: Any) -> dict[str, Any]:
    """<unk> <s> </s>, the 256 byte tokens, then ``pieces`` (text -> score), one control
    token and one user-defined token."""
    tokens = ["<unk>", "<s>", "</s>", *BYTES, *pieces, "[INST]", "<tag>"]
    fields: dict[str, Any] = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": [0.0] * 259 + [float(s) for s in pieces.values()] + [0.0, 0.0],
        "tokenizer.ggml.token_type": [2, 3, 3] + [6] * 256 + [1] * len(pieces) + [3, 4],
    }
    for key, value in changes.items():
        if value is None:
            fields.pop(f"tokenizer.ggml.{key}", None)
        else:
            fields[f"tokenizer.ggml.{key}"] = value
    return fields


def _tokenizer(tmp_path: Path, fields: dict[str, Any]) -> tuple[Tokenizer, gguf.GGUFReader]:
    reader = gguf.GGUFReader(str(write_tokenizer_gguf(tmp_path / "spm.gguf", fields)))
    return Tokenizer.from_str(build_tokenizer_json(reader)), reader


def _pieces(tokenizer: Tokenizer, text: str) -> list[str]:
    return tokenizer.encode(text, add_special_tokens=False).tokens


# "▁" pieces for: the space prefix, merges by score, whitespace runs.
MICRO = {
    "\u2581": -30,
    "a": -31,
    "b": -32,
    "c": -33,
    "H": -34,
    "i": -35,
    "\u2581H": -5,
    "Hi": -6,
    "\u2581Hi": -1,
    "ab": -3,
    "bc": -2,
    "abc": -4,
    "\u2581\u2581": -7,
}


class TestKnownBehaviours:
    def test_a_space_is_put_in_front(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        assert _pieces(tokenizer, "Hi") == ["\u2581Hi"]
        # "▁H" (-5) beats "▁▁" (-7), then "▁H" + "i" -> "▁Hi"
        assert _pieces(tokenizer, " Hi") == ["\u2581", "\u2581Hi"]
        assert _pieces(tokenizer, "  a") == ["\u2581\u2581", "\u2581", "a"]
        assert _pieces(tokenizer, "") == []

    def test_no_space_in_front_when_the_gguf_says_so(self, tmp_path: Path) -> None:
        fields = _micro_fields(MICRO) | {"tokenizer.ggml.add_space_prefix": False}
        tokenizer, _ = _tokenizer(tmp_path, fields)
        assert _pieces(tokenizer, "Hi") == ["Hi"]
        assert _pieces(tokenizer, "Hi Hi") == ["Hi", "\u2581Hi"]

    def test_the_best_scored_piece_is_joined_first(self, tmp_path: Path) -> None:
        # "bc" (-2) beats "ab" (-3), and "abc" cannot be made from "a" + "bc"... unless it is
        # a piece: with "abc" known, a + bc -> abc.
        without_abc = {k: v for k, v in MICRO.items() if k != "abc"}
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(without_abc))
        assert _pieces(tokenizer, "abc") == ["\u2581", "a", "bc"]
        swapped = without_abc | {"ab": -2.0, "bc": -3.0}
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(swapped))
        assert _pieces(tokenizer, "abc") == ["\u2581", "ab", "c"]
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        assert _pieces(tokenizer, "abc") == ["\u2581", "abc"]

    def test_unseen_characters_fall_back_to_bytes(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        ids = tokenizer.encode("a\u20ac\n", add_special_tokens=False).ids
        vocab = tokenizer.get_vocab()
        assert ids == [
            vocab["\u2581"],
            vocab["a"],
            BYTE0 + 0xE2,
            BYTE0 + 0x82,
            BYTE0 + 0xAC,
            BYTE0 + 0x0A,
        ]
        assert tokenizer.encode("\n", add_special_tokens=False).ids == [
            vocab["\u2581"],
            BYTE0 + 0x0A,
        ]

    def test_special_and_user_defined_tokens_are_whole_and_restart_the_prefix(
        self, tmp_path: Path
    ) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        assert _pieces(tokenizer, "[INST]Hi<tag>Hi") == [
            "[INST]",
            "\u2581Hi",
            "<tag>",
            "\u2581Hi",
        ]
        assert _pieces(tokenizer, "<s>[INST] Hi") == ["<s>", "[INST]", "\u2581", "\u2581Hi"]

    def test_bos_by_default_and_llamacpp_default_ids(self, tmp_path: Path) -> None:
        tokenizer, reader = _tokenizer(tmp_path, _micro_fields(MICRO))
        assert tokenizer.encode("Hi", add_special_tokens=True).tokens == ["<s>", "\u2581Hi"]
        assert special_token_ids(reader) == {
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": None,
            "unk_token_id": 0,
            "stop_token_ids": [2],
            "add_bos_token": True,
        }
        fields = _micro_fields(MICRO, add_bos_token=False)
        tokenizer, reader = _tokenizer(tmp_path, fields)
        assert tokenizer.encode("Hi", add_special_tokens=True).tokens == ["\u2581Hi"]
        assert special_token_ids(reader)["add_bos_token"] is False

    def test_library_decoder_undoes_the_prefix_and_the_bytes(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        text = "Hi  abc\u20ac\n"
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        assert tokenizer.decode(ids, skip_special_tokens=False) == text

    def test_runtime_decodes_pieces_like_llamacpp_token_to_piece(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        runtime = RuntimeTokenizer(tokenizer)
        text = "[INST]Hi  abc\u20ac\n"
        ids = runtime.encode(text)
        vocab = tokenizer.get_vocab()
        assert runtime.token_bytes(vocab["\u2581Hi"]) == b" Hi"
        assert runtime.token_bytes(BYTE0 + 0xE2) == b"\xe2"
        assert runtime.token_bytes(vocab["[INST]"]) == b"[INST]"
        # llama.cpp's pieces keep the space put in front of each fragment
        assert runtime.decode(ids) == "[INST] Hi  abc\u20ac\n"
        assert runtime.decode(ids, skip_special=True) == " Hi  abc\u20ac\n"
        stream = runtime.stream_decoder(skip_special=False)
        pieces = [stream.push(token_id) for token_id in ids]
        assert "".join(pieces) + stream.flush() == runtime.decode(ids)
        assert "\ufffd" not in "".join(pieces)


class TestWithTheRestOfThePipeline:
    @pytest.mark.parametrize("space_prefix", [None, False])
    def test_build_check_accepts_llamacpps_space_after_markers(
        self, space_prefix: bool | None, tmp_path: Path
    ) -> None:
        # the check's "<|im_start|>user\nHello<|im_end|>" decodes as "<|im_start|> user..."
        fields = spm_tokenizer_fields(add_space_prefix=space_prefix)
        tokenizer, _ = _tokenizer(tmp_path, fields)
        report = CheckReport()
        check_tokenizer(tokenizer, fields["tokenizer.ggml.tokens"], report)
        assert report.results["tokenizer_round_trip"] == "ok"
        swapped = list(fields["tokenizer.ggml.tokens"])
        swapped[300], swapped[301] = swapped[301], swapped[300]
        with pytest.raises(CheckFailed, match="id 300"):
            check_tokenizer(tokenizer, swapped, CheckReport())

    def test_blank_tokens_are_found_in_sentencepiece_spelling(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        codec = TextCodec(RuntimeTokenizer(tokenizer))
        vocab = tokenizer.get_vocab()
        blank = {vocab["\u2581"], vocab["\u2581\u2581"]} | {
            BYTE0 + b for b in (0x00, 0x09, 0x0A, 0x0D, 0x20)
        }
        assert set(codec.whitespace_token_ids()) == blank

    @pytest.mark.parametrize(
        "request_",
        [
            GenerationRequest(task="continue", before="The keeper climbed", notes="Be brief."),
            GenerationRequest(task="rewrite", selection="The keeper climbed the stairs."),
        ],
        ids=["continue-with-notes", "rewrite-with-examples"],
    )
    def test_prompts_made_of_pieces_are_tokenized_as_one_text(
        self, request_: GenerationRequest, tmp_path: Path
    ) -> None:
        # Each piece after the first continues the text: no "▁" put in front of it.
        tokenizer, _ = _tokenizer(tmp_path, spm_tokenizer_fields())
        runtime = RuntimeTokenizer(tokenizer)
        model = ModelTextInfo(4096, None, bos_token_id=1, add_bos_token=True)
        ids = build_prompt(request_.validated(), TextCodec(runtime), model).token_ids
        text = runtime.decode(ids[1:])
        assert ids[0] == 1 and text.startswith(" ")
        assert ids[1:] == runtime.encode(text[1:])
        assert "\n\n " not in text

    def test_continuing_text_gets_no_space_in_front(self, tmp_path: Path) -> None:
        tokenizer, _ = _tokenizer(tmp_path, _micro_fields(MICRO))
        codec = TextCodec(RuntimeTokenizer(tokenizer))
        vocab = tokenizer.get_vocab()
        assert codec.encode("Hi") == [vocab["\u2581Hi"]]
        assert codec.encode("Hi", continues=True) == [vocab["Hi"]]
        assert codec.encode(" Hi", continues=True) == [vocab["\u2581Hi"]]
        # a byte-level BPE tokenizer has no such space: the same ids either way
        path = tmp_path / "tiny.gguf"
        writer = gguf.GGUFWriter(str(path), "llama")
        add_tiny_tokenizer(writer)
        finish(writer)
        byte_level = Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))
        codec = TextCodec(RuntimeTokenizer(byte_level))
        assert codec.encode(" the cat", continues=True) == codec.encode(" the cat")


class TestMerges:
    def test_every_split_into_two_pieces_is_a_merge_ranked_by_score(self) -> None:
        tokens = ["a", "b", "c", "ab", "bc", "abc", "x"]
        scores = [0.0, 0.0, 0.0, -3.0, -2.0, -1.0, 0.0]
        assert merges_from_scores(tokens, scores) == [
            ("a", "bc"),
            ("ab", "c"),
            ("b", "c"),
            ("a", "b"),
        ]

    def test_equal_scores_keep_id_order(self) -> None:
        tokens = ["a", "b", "ba", "ab"]
        assert merges_from_scores(tokens, [0.0, 0.0, -1.0, -1.0]) == [("b", "a"), ("a", "b")]


class TestRefusals:
    def test_other_tokenizer_kinds_are_refused_by_name(self, tmp_path: Path) -> None:
        fields = _micro_fields(MICRO, model="t5")
        reader = gguf.GGUFReader(str(write_tokenizer_gguf(tmp_path / "t5.gguf", fields)))
        with pytest.raises(UnsupportedTokenizerError, match=r"'t5'.*'gpt2'.*'llama'"):
            build_tokenizer_json(reader)
        with pytest.raises(ValueError, match="'t5'"):
            special_token_ids(reader)

    def test_scores_are_required(self, tmp_path: Path) -> None:
        reader = gguf.GGUFReader(
            str(write_tokenizer_gguf(tmp_path / "s.gguf", _micro_fields(MICRO, scores=None)))
        )
        with pytest.raises(UnsupportedTokenizerError, match=r"tokenizer\.ggml\.scores"):
            build_tokenizer_json(reader)

    def test_missing_byte_tokens_are_refused(self, tmp_path: Path) -> None:
        fields = _micro_fields(MICRO)
        fields["tokenizer.ggml.tokens"][BYTE0 + 0x41] = "A"
        reader = gguf.GGUFReader(str(write_tokenizer_gguf(tmp_path / "b.gguf", fields)))
        with pytest.raises(UnsupportedTokenizerError, match=r"1 of the 256 byte tokens.*0x41"):
            build_tokenizer_json(reader)


@pytest.fixture(scope="module", params=[None, False], ids=["space-prefix", "no-space-prefix"])
def trained(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Tokenizer, SpmReference]:
    fields = spm_tokenizer_fields(add_space_prefix=request.param)
    path = write_tokenizer_gguf(tmp_path_factory.mktemp("spm") / "trained.gguf", fields)
    tokenizer = Tokenizer.from_str(build_tokenizer_json(gguf.GGUFReader(str(path))))
    reference = SpmReference(
        fields["tokenizer.ggml.tokens"],
        fields["tokenizer.ggml.scores"],
        fields["tokenizer.ggml.token_type"],
        add_space_prefix=request.param is not False,
    )
    return tokenizer, reference


SAMPLES = [
    *CORPUS.splitlines(),
    "",
    " ",
    "   leading and trailing   ",
    "\n\n\tindented\n    code  ",
    "<s>[INST] Write me a story about a lighthouse. [/INST]",
    "[INST]no space[/INST]Sure.</s>",
    "<|im_start|>user\nHi<|im_end|>\n<|file_sep|>main.py",
    "literal <0x41> byte token text and <unk> marker",
    "emoji 😀👍🏽 👨\u200d👩\u200d👧 🇫🇷 1️⃣",
    "नमस्ते สวัสดี שלום Tiếng Việt",
]

CHARACTERS = st.sampled_from([*sorted(set(CORPUS)), "\u2581", "\U0001f600", "\u00a0", "\u0301"])
TEXTS = st.lists(
    st.one_of(
        CHARACTERS,
        st.sampled_from(["[INST]", "[/INST]", "<s>", "</s>", "<|file_sep|>", "  ", "the "]),
        st.text(max_size=3),
    ),
    max_size=40,
).map("".join)


class TestTrainedVocabularyAgainstPortedLlamaCpp:
    def test_vocabulary_is_plausible(self) -> None:
        fields = spm_tokenizer_fields()
        tokens = fields["tokenizer.ggml.tokens"]
        assert 2000 <= len(tokens) <= 4000
        assert tokens[:5] == ["<unk>", "<s>", "</s>", "[INST]", "[/INST]"]
        assert tokens[5:261] == BYTES
        for piece in ("\u2581the", "\u2581\u2581\u2581\u2581", "\u2581\u043c", "\u4e16\u754c"):
            assert piece in tokens, piece
        scores = fields["tokenizer.ggml.scores"]
        kinds = fields["tokenizer.ggml.token_type"]
        normal = [s for s, kind in zip(scores, kinds, strict=True) if kind == 1]
        assert len(set(normal)) == len(normal)

    def test_samples(self, trained: tuple[Tokenizer, SpmReference]) -> None:
        tokenizer, reference = trained
        for text in SAMPLES:
            assert tokenizer.encode(text, add_special_tokens=False).ids == reference.tokenize(
                text
            ), text

    @settings(max_examples=400, deadline=None)
    @given(text=TEXTS)
    def test_any_text(self, trained: tuple[Tokenizer, SpmReference], text: str) -> None:
        tokenizer, reference = trained
        assert tokenizer.encode(text, add_special_tokens=False).ids == reference.tokenize(text)

    @settings(max_examples=200, deadline=None)
    @given(text=TEXTS)
    def test_runtime_decodes_to_the_text(
        self, trained: tuple[Tokenizer, SpmReference], text: str
    ) -> None:
        # llama.cpp's pieces: the special tokens' own text, and each other fragment with the
        # space put in front of it (when the prefix is on) and "▁" read as a space
        tokenizer, reference = trained
        runtime = RuntimeTokenizer(tokenizer)
        prefix = " " if reference.add_space_prefix else ""
        expected = "".join(
            reference.tokens[part] if isinstance(part, int) else prefix + part
            for part in _fragments(text, reference)
        )
        assert runtime.decode(runtime.encode(text)) == expected.replace("\u2581", " ")


def _fragments(text: str, reference: SpmReference) -> list[str | int]:
    """The text cut at special tokens (their ids), as llama.cpp does before tokenizing."""
    fragments: list[str | int] = [text] if text else []
    for special in reference.specials:
        needle = reference.tokens[special]
        cut: list[str | int] = []
        for fragment in fragments:
            if isinstance(fragment, int):
                cut.append(fragment)
                continue
            for index, part in enumerate(fragment.split(needle)):
                if index:
                    cut.append(special)
                if part:
                    cut.append(part)
        fragments = cut
    return fragments
