"""The model's tokenizer at run time: text <-> token ids, and streaming decode.

Built on the model folder's ``tokenizer.json`` (Hugging Face ``tokenizers``: byte-level BPE,
or SentencePiece pieces with ``<0xXX>`` byte fallback; rebuilt from the GGUF so its ids equal
llama.cpp's). Decoding goes through a per-token byte table rather than the library's decoder so
that streaming and whole-text decoding are the same code: both kinds split multi-byte
characters across tokens, and ``StreamDecoder`` only ever hands out complete characters. Each
token decodes to what llama.cpp's ``token_to_piece`` gives: special tokens to their own text,
a SentencePiece piece with ``▁`` as a space (the leading space of a reply is kept, as there).
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import tokenizers

from inference.model_cache import model_remedy
from inference.model_folder import TOKENIZER_NAME
from inference.runtime.errors import ModelUnavailableError

logger = logging.getLogger(__name__)


class TokenizerError(ModelUnavailableError):
    """The tokenizer file is missing or unreadable; rebuilding the model fixes it."""


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable character -> byte table (inverse of the byte-level encoding)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + extra)] = b
            extra += 1
    return table


_BYTE_DECODER = _byte_decoder()


def _piece_bytes(piece: str) -> bytes:
    try:
        return bytes(_BYTE_DECODER[char] for char in piece)
    except KeyError:  # not a byte-level piece (e.g. a user-defined token with a space)
        return piece.encode("utf-8")


_SPM_SPACE = "\u2581"
_SPM_BYTE = re.compile(r"<0x([0-9A-F]{2})>")


def _sentencepiece_bytes(piece: str) -> bytes:
    """A SentencePiece token's bytes: ``<0xXX>`` is that byte, ``▁`` a space."""
    byte = _SPM_BYTE.fullmatch(piece)
    if byte is not None:
        return bytes((int(byte.group(1), 16),))
    return piece.replace(_SPM_SPACE, " ").encode("utf-8")


def _is_sentencepiece(backend: tokenizers.Tokenizer) -> bool:
    # The GGUF rebuild gives only SentencePiece vocabularies byte fallback (gguf_tokenizer.py).
    model = backend.model
    return isinstance(model, tokenizers.models.BPE) and bool(model.byte_fallback)


class Tokenizer:
    """A model's tokenizer. Encoding parses special markers (``<|im_start|>``) as single ids."""

    def __init__(self, backend: tokenizers.Tokenizer) -> None:
        self.backend = backend
        added = backend.get_added_tokens_decoder()
        self._added_text = {token_id: token.content for token_id, token in added.items()}
        self.special_ids: frozenset[int] = frozenset(
            token_id for token_id, token in added.items() if token.special
        )
        self.vocab_size: int = backend.get_vocab_size(with_added_tokens=True)
        # Built once (~0.1 s for 49k tokens) so the first streamed token costs nothing extra.
        self._table = self._build_byte_table()

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"The model's tokenizer file {path} is missing. {model_remedy()}")
        try:
            backend = tokenizers.Tokenizer.from_file(str(path))
        except Exception as error:  # the library raises bare Exception for bad JSON
            raise TokenizerError(
                f"The model's tokenizer file {path} cannot be read ({error}). {model_remedy()}"
            ) from error
        return cls(backend)

    @classmethod
    def from_model_folder(cls, folder: str | Path) -> Tokenizer:
        return cls.from_file(Path(folder) / TOKENIZER_NAME)

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        """Token ids for ``text``, exactly as llama.cpp would tokenize it (special=True).

        ``add_special_tokens`` applies the model's own BOS rule (a BOS id first only if the
        GGUF asked for one); chat prompts carry their markers in the text instead.
        """
        return self.backend.encode(text, add_special_tokens=add_special_tokens).ids

    def token_count(self, text: str) -> int:
        return len(self.encode(text)) if text else 0

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for (may be part of a character); b"" for an unknown id."""
        table = self._table
        return table[token_id] if 0 <= token_id < len(table) else b""

    def decode(self, ids: Iterable[int], *, skip_special: bool = False) -> str:
        """Text for ``ids``; bytes that never form a character become U+FFFD."""
        table = self._table
        size = len(table)
        special = self.special_ids if skip_special else frozenset()
        data = b"".join(table[i] for i in ids if 0 <= i < size and i not in special)
        return data.decode("utf-8", "replace")

    def stream_decoder(self, *, skip_special: bool = True) -> StreamDecoder:
        return StreamDecoder(self, skip_special=skip_special)

    def _build_byte_table(self) -> list[bytes]:
        table: list[bytes] = [b""] * self.vocab_size
        to_bytes = _sentencepiece_bytes if _is_sentencepiece(self.backend) else _piece_bytes
        for piece, token_id in self.backend.get_vocab(with_added_tokens=False).items():
            if 0 <= token_id < self.vocab_size:
                table[token_id] = to_bytes(piece)
        for token_id, text in self._added_text.items():
            if 0 <= token_id < self.vocab_size:
                table[token_id] = text.encode("utf-8")
        return table


class StreamDecoder:
    """Turns token ids, pushed one at a time, into text that is always whole characters.

    Bytes of a character split across tokens are held back until the character is complete,
    so no half character and no U+FFFD for a split character is ever emitted; the pieces
    joined (plus ``flush()``) equal ``Tokenizer.decode`` of all the ids. With ``skip_special``
    (the default) chat markers and other special tokens produce no text.
    """

    __slots__ = ("_decoder", "_size", "_skip", "_table")

    def __init__(
        self, tokenizer: Tokenizer | tokenizers.Tokenizer, *, skip_special: bool = True
    ) -> None:
        if not isinstance(tokenizer, Tokenizer):
            tokenizer = _wrap(tokenizer)
        self._table = tokenizer._table
        self._size = len(self._table)
        self._skip = tokenizer.special_ids if skip_special else frozenset()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def push(self, token_id: int) -> str:
        """The text completed by this token ("" while a character is still incomplete)."""
        if token_id in self._skip or not 0 <= token_id < self._size:
            return ""
        return self._decoder.decode(self._table[token_id])

    def step(self, token_id: int) -> str | None:
        """``push`` for the generation loop's protocol: ``None`` when there is no new text."""
        return self.push(token_id) or None

    def flush(self) -> str:
        """End of stream: any incomplete trailing bytes become U+FFFD; the decoder resets."""
        return self._decoder.decode(b"", final=True)

    def reset(self) -> None:
        """Forget held-back bytes (e.g. when a generation is cancelled)."""
        self._decoder.reset()


# Wrapping the same library tokenizer again (one StreamDecoder per request) reuses its table.
_WRAPPED: dict[int, tuple[tokenizers.Tokenizer, Tokenizer]] = {}
_WRAPPED_LOCK = threading.Lock()
_WRAPPED_MAX = 4


def _wrap(backend: tokenizers.Tokenizer) -> Tokenizer:
    with _WRAPPED_LOCK:
        entry = _WRAPPED.get(id(backend))
        if entry is not None and entry[0] is backend:
            return entry[1]
        wrapped = Tokenizer(backend)
        if len(_WRAPPED) >= _WRAPPED_MAX:
            _WRAPPED.pop(next(iter(_WRAPPED)))
        _WRAPPED[id(backend)] = (backend, wrapped)
        return wrapped
