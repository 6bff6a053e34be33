"""llama.cpp's SentencePiece tokenizer, ported line for line to Python, for tests that must run
without llama.cpp.

Follows ``llama_vocab::impl::tokenize`` (case ``LLAMA_VOCAB_TYPE_SPM``),
``tokenizer_st_partition`` and ``llm_tokenizer_spm_session`` in llama.cpp's
``src/llama-vocab.cpp``: special and user-defined tokens are cut out first (longest first);
every remaining fragment gets a leading space when it starts the text or follows such a token,
spaces become ``▁``, then the adjacent pair whose joined text is a token of the highest score
is joined (the leftmost on a tie) until none is left; a symbol that is no token is written as
``<0xXX>`` byte tokens. The real thing is compared with Draftsmith in
``tests/export/test_llamacpp_architectures.py``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

SPACE = "\u2581"
_MATCHED_WHOLE = (2, 3, 4)  # unknown, control, user-defined


@dataclass
class _Symbol:
    text: str
    prev: int
    next: int


class SpmReference:
    def __init__(
        self,
        tokens: Sequence[str],
        scores: Sequence[float],
        token_types: Sequence[int],
        add_space_prefix: bool = True,
    ) -> None:
        self.ids = {text: token_id for token_id, text in enumerate(tokens)}
        self.scores = list(scores)
        self.add_space_prefix = add_space_prefix
        specials = [i for i, kind in enumerate(token_types) if kind in _MATCHED_WHOLE]
        # llama.cpp sorts by byte length, longest first
        self.specials = sorted(specials, key=lambda i: -len(tokens[i].encode("utf-8")))
        self.tokens = list(tokens)

    def tokenize(self, text: str) -> list[int]:
        """``llama_tokenize(text, add_special=False, parse_special=True)``."""
        fragments: list[str | int] = [text] if text else []
        for special in self.specials:
            needle = self.tokens[special]
            cut: list[str | int] = []
            for fragment in fragments:
                if isinstance(fragment, int):
                    cut.append(fragment)
                    continue
                parts = fragment.split(needle)
                for index, part in enumerate(parts):
                    if index:
                        cut.append(special)
                    if part:
                        cut.append(part)
            fragments = cut
        output: list[int] = []
        previous_special = True
        for fragment in fragments:
            if isinstance(fragment, int):
                output.append(fragment)
                previous_special = True
                continue
            if self.add_space_prefix and previous_special:
                fragment = " " + fragment
            output.extend(self._session(fragment.replace(" ", SPACE)))
            previous_special = False
        return output

    def _session(self, text: str) -> list[int]:
        symbols = [
            _Symbol(char, index - 1, index + 1 if index + 1 < len(text) else -1)
            for index, char in enumerate(text)
        ]
        queue: list[tuple[float, int, int, int]] = []

        def try_add_bigram(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            joined = symbols[left].text + symbols[right].text
            token = self.ids.get(joined)
            if token is None:
                return
            heapq.heappush(queue, (-self.scores[token], left, right, len(joined)))

        for index in range(1, len(symbols)):
            try_add_bigram(index - 1, index)
        while queue:
            _, left, right, size = heapq.heappop(queue)
            left_sym, right_sym = symbols[left], symbols[right]
            if not left_sym.text or not right_sym.text:
                continue
            if len(left_sym.text) + len(right_sym.text) != size:
                continue
            left_sym.text += right_sym.text
            right_sym.text = ""
            left_sym.next = right_sym.next
            if right_sym.next >= 0:
                symbols[right_sym.next].prev = left
            try_add_bigram(left_sym.prev, left)
            try_add_bigram(left, left_sym.next)
        output: list[int] = []
        index = 0 if symbols else -1
        while index != -1:
            piece = symbols[index].text
            token = self.ids.get(piece)
            if token is not None:
                output.append(token)
            else:
                output.extend(self._byte_token(byte) for byte in piece.encode("utf-8"))
            index = symbols[index].next
        return output

    def _byte_token(self, byte: int) -> int:
        token = self.ids.get(f"<0x{byte:02X}>")
        if token is None:
            token = self.ids[chr(byte)]  # llama.cpp's fallback (throws when absent too)
        return token
