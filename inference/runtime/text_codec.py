"""What the generation runtime needs of the tokenizer, over ``inference.runtime.tokenizer``.

The tokenizer module owns encoding and streaming decode (``StreamDecoder`` only ever yields
whole characters); this adds character offsets, which context fitting uses to cut text at
a token boundary without re-tokenizing it piece by piece; encoding of prompt pieces that
continue earlier text; and re-encoding only the changed end of a text that starts like a
recent one (``incremental_encoding.py``): the writer types at the end and asks again, and the
prompt's ids are ready in well under a millisecond."""

from __future__ import annotations

import json
from pathlib import Path

import tokenizers

from inference.runtime.incremental_encoding import PrefixReuseEncoder
from inference.runtime.tokenizer import StreamDecoder, Tokenizer


def _without_space_prefix(backend: tokenizers.Tokenizer) -> tokenizers.Tokenizer:
    """``backend`` without the SentencePiece space put in front of a text (its normalizer's
    ``Prepend``, see gguf_tokenizer/spm_tokenizer.py); ``backend`` itself if it has none."""
    if backend.normalizer is None:  # byte-level BPE
        return backend
    document = json.loads(backend.to_str())
    normalizer = document.get("normalizer") or {}
    steps = normalizer.get("normalizers", [])
    kept = [step for step in steps if step.get("type") != "Prepend"]
    if normalizer.get("type") != "Sequence" or len(kept) == len(steps):
        return backend
    document["normalizer"] = {"type": "Sequence", "normalizers": kept}
    return tokenizers.Tokenizer.from_str(json.dumps(document))


# A word that starts many a paragraph: what ``encode_before_words`` lets follow a text.
_FOLLOWING_WORD = "The"


class TextCodec:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._backend = tokenizer.backend
        self._whitespace: list[int] | None = None
        self._continuing: tokenizers.Tokenizer | None = None
        self.encoder = PrefixReuseEncoder(self._backend)

    @classmethod
    def from_file(cls, path: Path) -> TextCodec:
        """Raises ``TokenizerError`` (a ``ModelUnavailableError``) for a missing/bad file."""
        return cls(Tokenizer.from_file(path))

    def encode(self, text: str, *, continues: bool = False) -> list[int]:
        """Token ids for ``text``; special-token markers written in it become special tokens.

        ``continues``: ``text`` goes on from earlier text of the same prompt, so the ids are
        those it has at the end of the joined text: a SentencePiece tokenizer puts no space in
        front of it (a byte-level one never does)."""
        if not continues:
            return self.encoder.encode(text).ids
        if self._continuing is None:
            self._continuing = _without_space_prefix(self._backend)
        return self._continuing.encode(text, add_special_tokens=False).ids

    def encode_before_words(self, text: str, *, continues: bool = False) -> list[int]:
        """Like ``encode``, with a blank end of ``text`` split as it is when words follow.

        A byte-level tokenizer gives whitespace at the very end of a text a token of its own:
        a paragraph break there is one "\\n\\n" token, which training text follows with
        digits ("1950s:", "21.") or more whitespace, while before a word it is two "\\n"
        tokens. A prompt that ends in a paragraph break needs the second form, or the model
        starts a list or a date instead of the next paragraph."""
        if not text or not text[-1].isspace():
            return self.encode(text, continues=continues)
        ids = self.encode(text + _FOLLOWING_WORD, continues=continues)
        word = self.encode(_FOLLOWING_WORD, continues=True)
        head = ids[: len(ids) - len(word)]
        if ids[len(head) :] == word and self.decode(head) == text:
            return head
        return self.encode(text, continues=continues)  # the word merged with the blank end

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
        """Ids of tokens that are only spaces, tabs or line breaks (computed once).

        Read from the bytes each token stands for, so byte-level BPE ("Ġ", "Ċ") and
        SentencePiece ("▁", "<0x0A>") vocabularies alike (a NUL byte counts as blank too)."""
        if self._whitespace is None:
            blank = frozenset(b" \t\n\r\x00")
            token_bytes = self.tokenizer.token_bytes
            self._whitespace = [
                token_id
                for token_id in range(self.tokenizer.vocab_size)
                if (piece := token_bytes(token_id)) and set(piece) <= blank
            ]
        return self._whitespace

    def special_token_texts(self) -> list[str]:
        added = self._backend.get_added_tokens_decoder()
        return [token.content for token in added.values() if token.special]

    def stream_decoder(self) -> StreamDecoder:
        """A fresh decoder: ``step(token_id)`` gives whole characters only (or None)."""
        return self.tokenizer.stream_decoder(skip_special=True)
