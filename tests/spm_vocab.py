"""A small SentencePiece-style ("llama") vocabulary for synthetic GGUFs, trained here.

Laid out like Mistral 7B v0.3's: ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, the control tokens
``[INST]`` and ``[/INST]``, the 256 byte-fallback tokens ``<0x00>``..``<0xFF>`` (score 0), then
pieces learned by byte-pair merging on ``corpus()`` (score ``-rank``: the earlier a merge, the
higher), then the single characters of the alphabet (lowest scores, as SentencePiece writes
them), then ChatML markers as control tokens and one user-defined token, as fine-tunes add.
Like SentencePiece, training splits text into words at spaces (kept as a leading ``▁``), at
script changes and between digits; characters seen once, newlines and tabs are not in the
alphabet, so they are spelled in bytes. Deterministic: the same corpus gives the same file.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

SPACE = "\u2581"
CONTROL_HEAD = ("[INST]", "[/INST]")
CONTROL_TAIL = ("<|im_start|>", "<|im_end|>")
USER_DEFINED = ("<|file_sep|>",)
UNKNOWN, CONTROL, USER, BYTE, NORMAL = 2, 3, 4, 6, 1

MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)

CORPUS = """\
The lighthouse keeper kept a journal of the weather, the ships and the birds. Every evening \
he climbed the stairs, trimmed the wick and wrote three lines: the wind, the sea, the light. \
In the winter the storms came from the north and the waves broke over the rocks; in the \
summer the fishing boats returned at dusk, and their lanterns moved slowly across the bay. \
She opened the letter, read it twice, and put it back into the envelope without a word. \
"Where were you?" asked her brother. "Nowhere," she said, "I was only walking by the river." \
They wrote stories together: a detective who could not remember names, a baker who sold \
bread to ghosts, a cartographer drawing maps of cities that did not exist yet. Writing is \
rewriting; the first draft is for the writer, the second is for the reader. It's the \
reader's turn now, isn't it? We'll see. I'd rather they didn't. You're right, I'm wrong. \
On 12 March 2024 the committee met at 10:30 and approved 3 of the 7 proposals (about 43%). \
The price rose from $19.99 to $24.50, then fell by 15 per cent in 2025; 1,000,000 copies. \
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 100 250 1024 2048 4096 3.14159 2.71828 42.
def tokenize(text, vocab):
    pieces = []
    for word in text.split():
        if word in vocab:
            pieces.append(vocab[word])
        else:
            pieces.extend(encode_bytes(word))
    return pieces

class Document:
    def __init__(self, title, body=None):
        self.title = title
        self.body = body or []

    def word_count(self):
        return sum(len(line.split()) for line in self.body)

for (int i = 0; i < n; ++i) { total += values[i] * weights[i]; }
if (x != nullptr && x->next == nullptr) return -1; // end of list
SELECT name, count(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY name;
https://example.org/path/to/page?query=value&lang=en#section-2 user@example.com
Le gardien du phare tenait un journal du temps, des navires et des oiseaux. Chaque soir, il \
montait l'escalier et écrivait trois lignes : le vent, la mer, la lumière. Café, crème, \
naïve, élève, déjà, où, garçon, français. Ça va ? Très bien, merci beaucoup !
Der Leuchtturmwärter führte ein Tagebuch über das Wetter, die Schiffe und die Vögel. Jeden \
Abend stieg er die Treppe hinauf. Straße, größer, Mädchen, schön, über, für, Grüße.
El farero llevaba un diario del tiempo, de los barcos y de los pájaros. ¿Dónde estabas? \
¡Qué sorpresa! Mañana, niño, corazón, también, canción, información.
Смотритель маяка вёл дневник погоды, кораблей и птиц. Каждый вечер он поднимался по \
лестнице и записывал три строки: ветер, море, свет. Привет, как дела? Спасибо, хорошо.
Ο φαροφύλακας κρατούσε ημερολόγιο για τον καιρό, τα πλοία και τα πουλιά. Καλημέρα, \
καλησπέρα, ευχαριστώ πολύ. Η θάλασσα είναι ήρεμη σήμερα.
灯塔看守人记录天气、船只和鸟类。每天晚上，他爬上楼梯，写下三行字：风、海、光。你好，\
世界！我们今天去图书馆看书。这是一个简单的句子。
灯台守は天気と船と鳥の日記をつけていた。毎晩、彼は階段を上り、三行を書いた。こんにちは、\
世界。日本語の文章です。ありがとうございます。
등대지기는 날씨와 배와 새에 대한 일기를 썼다. 안녕하세요, 세계. 감사합니다. 한국어 문장입니다.
حارس المنارة كان يكتب يومياته عن الطقس والسفن والطيور. مرحبا بالعالم. شكرا جزيلا.
Người giữ hải đăng ghi nhật ký về thời tiết, tàu thuyền và chim chóc. Xin chào thế giới.
"""


def _words(text: str, alphabet: frozenset[str]) -> list[str]:
    """Training words: a leading ``▁`` run, letters of one script, one digit, or punctuation;
    broken again at characters outside the alphabet (they can never be part of a piece)."""
    escaped = SPACE + text.replace(" ", SPACE)
    words: list[str] = []
    for match in re.finditer(rf"{SPACE}*(?:[^\W\d_]+|\d|[^\w\s{SPACE}]+|_+)|{SPACE}+", escaped):
        word = match.group()
        body = word.lstrip(SPACE)
        spaces = len(word) - len(body)
        if body and spaces > 1:  # "▁▁▁▁return" -> "▁▁▁" "▁return", as SentencePiece splits
            words.append(SPACE * (spaces - 1))
            word = SPACE + body
        words.extend(_split_by_script(word))
    outside = re.compile("[^" + re.escape("".join(sorted(alphabet))) + "]")
    return [piece for word in words for piece in outside.split(word) if piece]


def _script(char: str) -> str:
    code = ord(char)
    if char == SPACE:
        return "space"
    if code < 0x250:
        return "latin"
    if code < 0x400:
        return "greek"
    if code < 0x530:
        return "cyrillic"
    if code < 0x700:
        return "arabic"
    if 0x1E00 <= code < 0x1F00:
        return "latin"
    if 0x3040 <= code < 0x3100:
        return "kana"
    if 0xAC00 <= code < 0xD7B0 or 0x1100 <= code < 0x1200:
        return "hangul"
    if 0x4E00 <= code < 0xA000:
        return "han"
    return f"other-{code >> 8}"


def _split_by_script(word: str) -> list[str]:
    parts: list[str] = []
    current = ""
    script = ""
    for char in word:
        kind = _script(char)
        if current and kind not in (script, "space") and script != "space":
            parts.append(current)
            current = ""
        current += char
        if kind != "space":
            script = kind
        elif not script:
            script = "space"
    if current:
        parts.append(current)
    return parts


def _train(corpus: str, merges: int) -> tuple[list[str], list[str]]:
    """(merged pieces in merge order, alphabet characters by frequency)."""
    counts = Counter(SPACE + corpus.replace(" ", SPACE))
    alphabet = frozenset(
        char for char, count in counts.items() if count >= 2 and char not in "\n\t\r"
    )
    word_counts = Counter(_words(corpus, alphabet))
    words = [list(word) for word in word_counts]
    freq = [word_counts[word] for word in word_counts]
    pairs: Counter[tuple[str, str]] = Counter()
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for index, symbols in enumerate(words):
        for pair in pairwise(symbols):
            pairs[pair] += freq[index]
            where[pair].add(index)
    pieces: list[str] = []
    known = set(alphabet)
    while len(pieces) < merges and pairs:
        best = max(pairs.items(), key=lambda item: (item[1], [-ord(c) for c in "".join(item[0])]))
        pair = best[0]
        joined = pair[0] + pair[1]
        for index in sorted(where.pop(pair, set())):
            symbols = words[index]
            for old in pairwise(symbols):
                pairs[old] -= freq[index]
                if pairs[old] <= 0:
                    del pairs[old]
            merged: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    merged.append(joined)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            words[index] = merged
            for new in pairwise(merged):
                pairs[new] += freq[index]
                where[new].add(index)
        pairs.pop(pair, None)
        if joined not in known:
            known.add(joined)
            pieces.append(joined)
    ordered_alphabet = sorted(alphabet, key=lambda char: (-counts[char], char))
    return pieces, ordered_alphabet


# More (and stranger) text: the ~380 texts whose llama.cpp ids tests/export records.
RECORDED_TEXTS = Path(__file__).parent / "export" / "data" / "llamacpp_token_ids.json"


def corpus() -> str:
    recorded = json.loads(RECORDED_TEXTS.read_text(encoding="utf-8"))["token_ids"]
    return CORPUS + "\n".join(recorded)


@cache
def _trained(merges: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    pieces, alphabet = _train(corpus(), merges)
    return tuple(pieces), tuple(alphabet)


def spm_tokenizer_fields(
    merges: int = 2500, *, add_space_prefix: bool | None = None, chat_template: bool = True
) -> dict[str, Any]:
    """``tokenizer.*`` GGUF metadata for the trained vocabulary (see the module docstring)."""
    pieces, alphabet = _trained(merges)
    tokens: list[str] = ["<unk>", "<s>", "</s>", *CONTROL_HEAD]
    types: list[int] = [UNKNOWN, CONTROL, CONTROL] + [CONTROL] * len(CONTROL_HEAD)
    scores: list[float] = [0.0] * len(tokens)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [BYTE] * 256
    scores += [0.0] * 256
    for rank, piece in enumerate(pieces):
        tokens.append(piece)
        types.append(NORMAL)
        scores.append(float(-rank))
    for offset, char in enumerate(alphabet):
        tokens.append(char)
        types.append(NORMAL)
        scores.append(float(-len(pieces) - offset))
    for text in CONTROL_TAIL:
        tokens.append(text)
        types.append(CONTROL)
        scores.append(0.0)
    for text in USER_DEFINED:
        tokens.append(text)
        types.append(USER)
        scores.append(0.0)
    fields: dict[str, Any] = {
        "tokenizer.ggml.model": "llama",  # no "pre": llama.cpp's converter writes none for it
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_eos_token": False,
    }
    if add_space_prefix is not None:
        fields["tokenizer.ggml.add_space_prefix"] = add_space_prefix
    if chat_template:
        fields["tokenizer.chat_template"] = MISTRAL_TEMPLATE
    return fields
