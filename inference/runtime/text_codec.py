"""What the generation runtime needs of the tokenizer, over ``inference.runtime.tokenizer``.

The tokenizer module owns encoding and streaming decode (``StreamDecoder`` only ever yields
whole characters); this adds character offsets, which context fitting uses to cut text at
a token boundary without re-tokenizing it piece by piece, and re-encodes only the changed
end of a text that starts like a recent one (``incremental_encoding.py``): the writer types
at the end and asks again, and the prompt's ids are ready in well under a millisecond."""

from __future__ import annotations

from pathlib import Path

from inference.runtime.incremental_encoding import PrefixReuseEncoder
from inference.runtime.tokenizer import StreamDecoder, Tokenizer


class TextCodec:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._backend = tokenizer.backend
        self._whitespace: list[int] | None = None
        self.encoder = PrefixReuseEncoder(self._backend)

    @classmethod
    def from_file(cls, path: Path) -> TextCodec:
        """Raises ``TokenizerError`` (a ``ModelUnavailableError``) for a missing/bad file."""
        return cls(Tokenizer.from_file(path))

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; special-token markers written in it become special tokens."""
        return self.encoder.encode(text).ids

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        encoding = self.encoder.encode(text)
        return encoding.ids, encoding.offsets

    def count(self, text: str) -> int:
        return len(self.encoder.encode(text).ids) if text else 0

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special=True)

    def token_text(self, token_id: int) -> str | None:
        return self._backend.id_to_token(token_id)

    def whitespace_token_ids(self) -> list[int]:
        """Ids of tokens that are only spaces, tabs or line breaks (computed once)."""
        if self._whitespace is None:
            byte_level_space = set("ĠĊĉčĀ ")
            # Byte-level BPE spells space, newline, tab and carriage return as these.
            allowed = byte_level_space | set(" \t\n\r")
            self._whitespace = sorted(
                token_id
                for token, token_id in self._backend.get_vocab().items()
                if token and set(token) <= allowed
            )
        return self._whitespace

    def special_token_texts(self) -> list[str]:
        added = self._backend.get_added_tokens_decoder()
        return [token.content for token in added.values() if token.special]

    def stream_decoder(self) -> StreamDecoder:
        """A fresh decoder: ``step(token_id)`` gives whole characters only (or None)."""
        return self.tokenizer.stream_decoder(skip_special=True)
