"""Text <-> token ids for the generation runtime, over the model folder's ``tokenizer.json``.

Streaming decode comes from ``inference.runtime.tokenizer.StreamDecoder`` (the tokenizer
module) when it is present, otherwise from the ``tokenizers`` library's own ``DecodeStream``;
both only ever yield whole UTF-8 characters."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

from inference.runtime.errors import ModelUnavailableError

log = logging.getLogger(__name__)


class _LibraryStreamDecoder:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)

    def step(self, token_id: int) -> str | None:
        return self._stream.step(self._tokenizer, token_id)


class TextCodec:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._stream_decoder_class: Any = None
        try:
            from inference.runtime.tokenizer import StreamDecoder  # the tokenizer module's

            self._stream_decoder_class = StreamDecoder
        except ImportError:
            log.debug("inference.runtime.tokenizer.StreamDecoder not available; using DecodeStream")

    @classmethod
    def from_file(cls, path: Path) -> TextCodec:
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as error:  # tokenizers raises plain Exception subclasses
            raise ModelUnavailableError(
                f"The model's tokenizer ({path.name}) cannot be read ({error}). Rebuild the model "
                "with `draftsmith-model build`."
            ) from error

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; special-token markers written in it become special tokens."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return encoding.ids, encoding.offsets

    def count(self, text: str) -> int:
        return len(self.encode(text)) if text else 0

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def token_text(self, token_id: int) -> str | None:
        return self.tokenizer.id_to_token(token_id)

    def special_token_texts(self) -> list[str]:
        added = self.tokenizer.get_added_tokens_decoder()
        return [token.content for token in added.values() if token.special]

    def stream_decoder(self) -> Any:
        """A fresh decoder with ``step(token_id) -> str | None``."""
        if self._stream_decoder_class is not None:
            return self._stream_decoder_class(self.tokenizer)
        return _LibraryStreamDecoder(self.tokenizer)
