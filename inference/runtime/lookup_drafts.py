"""Drafts for the next tokens, looked up in the text so far (prompt lookup decoding).

Writing repeats itself: a rewrite or a shortened passage copies phrases of its source, names
and turns of phrase come back, and a small model's greedy text repeats whole sentences. When
the last few tokens occurred earlier (the prompt or what was generated), the tokens that
followed them then are a cheap guess for what follows now. The model checks the guess in one
run over the chunk (``ModelSession.forward_rows``); every token is still chosen from the
model's own logits at its position, and a guess counts only where the choice equals it. (A
run over several tokens rounds the 4-bit kernels' int8 activations a little differently from
one-token runs, so greedy text can part from one-token decoding at a near-tie; neither is
closer to the float model.)

The index maps every n-gram (``MIN_NGRAM``..``MAX_NGRAM`` tokens) to where its latest
occurrence continued; it is built once per request and extended per accepted token."""

from __future__ import annotations

from collections.abc import Iterable

# Two tokens at least: a single repeated token ("the", ",") predicts little and a rejected
# draft costs a wider model run. Longer matches are preferred.
MIN_NGRAM = 2
MAX_NGRAM = 4
# Tokens guessed per run at most. On the default model (2 threads) a run over 1 + 1 tokens
# costs ~1.3x one token's, 1 + 6 about 2.5x (measured with a 16- and a 1,000-token cache).
MAX_DRAFT = 8


class LookupDrafter:
    """Proposes the tokens that followed the latest earlier occurrence of the text's end."""

    def __init__(self, context: Iterable[int] = ()) -> None:
        self._tokens: list[int] = []
        # n-gram -> index of the token that followed its latest occurrence.
        self._next: dict[tuple[int, ...], int] = {}
        # How many tokens to guess next: one at first; after a draft the model took whole,
        # two more (up to MAX_DRAFT); after one it refused part of, one more than it took.
        # Sampled text (continuing a story) refuses most guesses, so its drafts stay one
        # token long and cost little; a rewrite copying its source soon guesses MAX_DRAFT.
        self.limit = 1
        self.extend(context)

    def __len__(self) -> int:
        return len(self._tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        tokens = self._tokens
        end = len(tokens)
        # The n-grams ending at the current end are followed by ``token`` at index ``end``.
        for n in range(MIN_NGRAM, min(MAX_NGRAM, end) + 1):
            self._next[tuple(tokens[end - n :])] = end
        tokens.append(int(token))

    def record(self, drafted: int, accepted: int) -> None:
        """How the model took the last draft: sets how many tokens the next one guesses."""
        if drafted:
            self.limit = min(MAX_DRAFT, self.limit + 2) if accepted == drafted else accepted + 1

    def draft(self, limit: int | None = None) -> list[int]:
        """Up to ``limit`` (default: the current ``limit``) tokens that followed the longest
        earlier match of the end."""
        tokens = self._tokens
        limit = self.limit if limit is None else min(limit, self.limit)
        if limit <= 0:
            return []
        for n in range(min(MAX_NGRAM, len(tokens)), MIN_NGRAM - 1, -1):
            start = self._next.get(tuple(tokens[-n:]))
            if start is not None:
                break
        else:
            return []
        draft = tokens[start : start + limit]
        # A match one loop back runs into the end: the loop goes on (copy with overlap).
        while len(draft) < limit:
            draft.append(draft[len(draft) - (len(tokens) - start)])
        return draft
