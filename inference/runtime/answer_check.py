"""The verdict on a task's answer before it may touch the document.

Every answer the runtime returns carries an ``AnswerCheck``: whether it passed the task's
rules, the reasons in plain words when it did not, which method wrote the text (the model, or a
method that cannot invent such as an extractive shorten) and how many attempts it took. The
editor lets a failing answer reach the manuscript only after an explicit "Use anyway".

``check_answer`` holds the rules (stated in ``RULES``, which the benchmark prints):

* length: shorten at most 75 % of the source's words, summarize at most 50 %, expand at least
  120 %, rewrite and tone between 60 % and 160 %;
* no copy of the prompt (instructions, the worked examples, their labels);
* no talk *about* the text ("The passage describes…", 'Changed "had" to "had"', a letter
  opening that was not in the source);
* no repeated sentences, no loops, no echo of the whole source with extras added;
* proper names kept (all of them when rewriting; some when shortening) and, for tasks that
  must not invent, no new ones;
* brainstorm: at least three distinct short ideas; continue: some text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inference.runtime.tasks import Task

# Who wrote the text of an answer.
METHOD_MODEL = "model"
METHOD_EXTRACTIVE = "extractive"


@dataclass(frozen=True)
class AnswerCheck:
    passed: bool = True
    reasons: tuple[str, ...] = ()
    method: str = METHOD_MODEL
    attempts: int = 1

    @property
    def summary(self) -> str:
        """The reasons as one sentence-like line for a status bar or a pane."""
        return " ".join(self.reasons)


# Share of the source's words an answer may (max) or must (min) have.
MAX_LENGTH_RATIO: dict[Task, float] = {
    Task.SHORTEN: 0.75,
    Task.SUMMARIZE: 0.50,
    Task.REWRITE: 1.60,
    Task.CHANGE_TONE: 1.60,
}
MIN_LENGTH_RATIO: dict[Task, float] = {
    Task.EXPAND: 1.20,
    Task.REWRITE: 0.60,
    Task.CHANGE_TONE: 0.60,
}
BRAINSTORM_MIN_IDEAS = 3
BRAINSTORM_MAX_IDEA_WORDS = 30
# Tasks that say again what the text says: a number the text does not give is invented.
KEEPS_THE_FACTS = (Task.SHORTEN, Task.SUMMARIZE, Task.REWRITE, Task.CHANGE_TONE)
# An idea sharing this share of its word pairs (3 or more) with the text restates it: "The
# storm came in on the harbour just after dusk." for a paragraph that opens with it is no idea.
RESTATED_PAIR_SHARE = 0.7
DESCRIBE_MAX_WORDS = 220
# Continue: below this share of distinct word pairs (on 12+ words) the text is going round.
MIN_DISTINCT_2 = 0.6
# An answer that shares this many consecutive words with the prompt (and not the source)
# copied the prompt.
LEAK_NGRAM = 6

# A shortened text keeps at least this share of the source's distinct content words (checked
# on sources with enough of them): "This is a very good product." is not a shorter version of
# a paragraph about sync. The writer's own sentences at 60 % of the length keep 26-69 %.
MIN_SHORTEN_COVERAGE = 0.2
MIN_CONTENT_FOR_COVERAGE = 10

# Share of an answer's content words that may be absent from the source (and notes).
NEW_WORDS_SHARE: dict[Task, float] = {
    Task.SHORTEN: 0.4,
    Task.SUMMARIZE: 0.45,
    Task.REWRITE: 0.5,
    Task.CHANGE_TONE: 0.5,
}
_STOP_WORDS = frozenset(
    [
        "that",
        "this",
        "with",
        "from",
        "have",
        "been",
        "were",
        "they",
        "their",
        "them",
        "there",
        "then",
        "than",
        "what",
        "when",
        "which",
        "while",
        "would",
        "could",
        "should",
        "about",
        "into",
        "over",
        "only",
        "also",
        "just",
        "very",
        "more",
        "most",
        "some",
        "such",
        "will",
        "your",
        "yours",
        "ours",
        "each",
        "other",
        "after",
        "before",
        "because",
        "being",
        "both",
        "does",
        "doing",
        "down",
        "here",
        "itself",
        "like",
        "make",
        "made",
        "many",
        "much",
        "must",
        "never",
        "once",
        "same",
        "these",
        "those",
        "through",
        "under",
        "until",
        "where",
        "whom",
        "whose",
        "why",
        "well",
    ]
)

RULES: dict[Task, str] = {
    Task.CONTINUE: "some text; no loop (distinct word pairs >= 60 %); no repeated sentence, "
    "none copied from the text before",
    Task.SHORTEN: "<= 75 % of the words; names kept; no new names or numbers; <= 40 % new "
    "content words; >= 20 % of the content words kept",
    Task.SUMMARIZE: "<= 50 % of the words; a name kept; no new names or numbers; <= 45 % new "
    "content words",
    Task.EXPAND: ">= 120 % of the words; all names kept; no new names",
    Task.REWRITE: "60-160 % of the words; all names kept; no new names or numbers; not "
    "unchanged; <= 50 % new content words",
    Task.CHANGE_TONE: "60-160 % of the words; all names kept; no new names or numbers; not "
    "unchanged; <= 50 % new content words",
    Task.BRAINSTORM: ">= 3 distinct ideas of <= 30 words, none restating the text",
    Task.DESCRIBE: "10-220 words",
}
COMMON_RULES = (
    "every task: no copy of the prompt (6 words in a row), no talk about the text, "
    "no repeated sentence, no echo of the whole text plus extras"
)

_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)*")
# Within a line, a sentence ends after . ! ? … and any closing quotes or brackets (which stay
# with it).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])([\"'”’)\]]*)[ \t]+")
# After a quoted question or exclamation, a dialogue tag goes on with the same sentence:
# '"Is it biting?" Nell asked.' / '"Stop!" she said.'
_QUOTE_ENDS = re.compile(r"[?!…][\"'”’]$")
_SPEECH_VERBS = "said|says|asked|asks|replied|answered|shouted|whispered"
_DIALOGUE_TAG = re.compile(rf"[a-z]|(?:[A-Z][\w'’-]*\s+){{1,3}}(?:{_SPEECH_VERBS}|called|cried)\b")
_NAME = re.compile(r"\b[A-Z][a-z\u00E0-\u024F]+(?:[-'’][A-Z]?[a-z]+)*\b")
# Capitalised words that are not names even in the middle of a sentence.
_NOT_NAMES = frozenset(
    [
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "St",
        "OK",
        "Okay",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "God",
        "Lord",
        "Mum",
        "Mom",
        "Dad",
        "Mother",
        "Father",
        "Grandma",
        "Grandpa",
        "Sir",
        "Madam",
        "Miss",
        "English",
        "French",
        "German",
        "Spanish",
        "Internet",
        "TV",
    ]
)
# Talking about the text instead of writing it: these phrases never belong in an answer
# unless the writer's own text uses them.
_META = re.compile(
    r"\b(?:the|this|that|your|my) (?:original |given |following |above |provided |rewritten |"
    r"revised |shortened |expanded |new |formal |casual )?(?:text|passage|excerpt|paragraph|"
    r"sentence|writer|author|narrator)(?:'s)? (?:is|was|has|describes|"
    r"tells|talks|discusses|shows|uses|reads|contains|focuses|highlights|conveys|explores|"
    r"presents|can be|could be|should|would|are|were|about|written|rewritten|in a)\b"
    r"|\b(?:writer|author)'s notes\b"
    r"|\bchanged [\"“'‘][^\"”'’]{0,40}[\"”'’] (?:to|into) [\"“'‘]"
    r"|\b(?:here is|here's|here are) (?:the|a|an|my|your|some)\b"
    r"|\bI hope (?:this|that) (?:message|email|letter|note) finds you\b"
    r"|\bas an (?:AI|assistant|language model)\b"
    r"|\bI(?:'m| am) sorry for the inconvenience\b|\b(?:unable|not able) to (?:assist|help) "
    r"(?:with )?(?:your|this|that)\b|\bI can(?:not|'t) (?:help|assist) with\b"
    r"|\b(?:in|with) a (?:more )?(?:formal|casual|friendly|confident|vivid|humorous|neutral|"
    r"professional) tone\b"
    r"|\b(?:tone|style) of the (?:original|text|passage)\b"
    r"|\b(?:rewrite|shorten|summari[sz]e|expand|describe) (?:this|the) (?:text|passage|"
    r"paragraph|sentence)\b"
    r"|^(?:note|explanation|changes|summary|rewritten|revised|shortened|expanded|"
    r"original|short|long|brief|detailed|text|draft|polished|ideas?|description)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# Web-page debris a small model writes after a paragraph break.
_DEBRIS = re.compile(
    r"https?://|www\.|\[[^\]\n]{0,80}\]|\b(?:posted (?:on|by)|tagged|copyright|"
    r"all rights reserved|click here|read more|subscribe)\b",
    re.IGNORECASE,
)
_LETTER_OPENING = re.compile(r"^\s*(?:dear|hi|hello|to whom)\b[^\n]{0,40},", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def word_count(text: str) -> int:
    return len(words(text))


def sentences(text: str) -> list[str]:
    """``text``'s sentences, each exactly as written: closing quotes and brackets stay with
    their sentence, a quoted question keeps its dialogue tag, and a quotation of several
    sentences is one (within its line)."""
    found: list[str] = []
    for line in text.splitlines():
        pieces, start = [], 0
        for match in _SENTENCE_BREAK.finditer(line):
            pieces.append(line[start : match.start() + len(match.group(1))])
            start = match.end()
        pieces.append(line[start:])
        open_quote = False
        for piece in (p.strip() for p in pieces):
            if not piece:
                continue
            tagged = bool(found) and bool(
                _QUOTE_ENDS.search(found[-1]) and _DIALOGUE_TAG.match(piece)
            )
            if open_quote or tagged:
                found[-1] += " " + piece
            else:
                found.append(piece)
            open_quote = _quote_left_open(found[-1])
    return found


def _quote_left_open(sentence: str) -> bool:
    return sentence.count('"') % 2 == 1 or sentence.count("“") > sentence.count("”")


def _norm(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in words(text)]


def _ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def distinct_2(text: str) -> float:
    """Share of distinct word pairs (1.0 for fewer than two words): low means a loop."""
    tokens = _norm(text)
    pairs = [tuple(tokens[i : i + 2]) for i in range(len(tokens) - 1)]
    return len(set(pairs)) / len(pairs) if pairs else 1.0


# After a sentence's first word, these mark it as someone's name ("Pim said", "Rook:").
_SPEAKER = re.compile(rf"\s*(?::|\s(?:{_SPEECH_VERBS}|told|nodded|smiled|laughed|sighed)\b)")


def proper_names(text: str) -> set[str]:
    """Capitalised words used as names: mid-sentence, or at a sentence start when the same
    word is capitalised mid-sentence elsewhere too."""
    found: set[str] = set()
    starters: set[str] = set()
    for sentence in sentences(text):
        for index, match in enumerate(_NAME.finditer(sentence)):
            word = match.group(0)
            if word in _NOT_NAMES or word.split("'")[0].split("’")[0] in _NOT_NAMES:
                continue
            at_start = match.start() == 0 or not sentence[: match.start()].strip(" \"'“‘(")
            speaker = _SPEAKER.match(sentence, match.end()) and word not in _COMMON_CAPITALS
            (starters if at_start and index == 0 and not speaker else found).add(word)
    lower = {w.lower() for w in words(text) if w.islower()}
    found = {name for name in found if name.lower() not in lower}
    return found | {w for w in starters if w in found}


def notes_names(notes: str) -> set[str]:
    """Names the notes spell out (any capitalised word that is not a common opener)."""
    return {
        m.group(0) for m in _NAME.finditer(notes) if m.group(0) not in _NOT_NAMES
    } - _COMMON_CAPITALS


_COMMON_CAPITALS = frozenset(
    [
        "The",
        "A",
        "An",
        "And",
        "But",
        "Or",
        "So",
        "Then",
        "When",
        "While",
        "If",
        "As",
        "At",
        "In",
        "On",
        "Of",
        "To",
        "For",
        "From",
        "With",
        "By",
        "It",
        "He",
        "She",
        "They",
        "We",
        "You",
        "His",
        "Her",
        "Their",
        "Our",
        "My",
        "Its",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "Here",
        "Who",
        "What",
        "Where",
        "Why",
        "How",
        "Name",
        "Names",
        "Setting",
        "Tone",
        "Style",
        "Character",
        "Characters",
        "Place",
        "Places",
        "Notes",
        "Note",
        "Keep",
        "Use",
        "Narrator",
        "Voice",
        "Tense",
        "First",
        "Third",
        "Person",
        "Past",
        "Present",
    ]
)


_ARTICLES = frozenset(("a", "an", "the"))


def _leaks(answer: str, source: str, prompt_texts: Iterable[str]) -> str | None:
    """A run of words the answer shares with the prompt but not with the source."""
    answer_tokens = _norm(answer)
    source_tokens = _norm(source)
    source_grams = _ngrams(source_tokens, LEAK_NGRAM)
    answer_grams = _ngrams(answer_tokens, LEAK_NGRAM) - source_grams
    for text in prompt_texts:
        phrase = _norm(text)
        shared = answer_grams & _ngrams(phrase, LEAK_NGRAM)
        if shared:
            return " ".join(min(shared))
        # A short example (a subject to describe, "an old greenhouse") is copied whole.
        if phrase and phrase[0] in _ARTICLES:
            phrase = phrase[1:]
        if 2 <= len(phrase) < LEAK_NGRAM:
            gram = tuple(phrase)
            if gram in _ngrams(answer_tokens, len(gram)) - _ngrams(source_tokens, len(gram)):
                return " ".join(gram)
    return None


def _repeated_sentence(answer: str) -> str | None:
    seen: Counter[tuple[str, ...]] = Counter()
    for sentence in sentences(answer):
        key = tuple(_norm(sentence))
        if len(key) >= 4:
            seen[key] += 1
            if seen[key] > 1:
                return sentence
    return None


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def restated_ideas(ideas: Sequence[str], source: str) -> list[str]:
    """The brainstormed ``ideas`` that say again what ``source`` says, nearly word for word."""
    source_pairs = _ngrams(_norm(source), 2)
    restated = []
    for idea in ideas:
        pairs = _ngrams(_norm(idea), 2)
        if len(pairs) >= 3 and len(pairs & source_pairs) >= RESTATED_PAIR_SHARE * len(pairs):
            restated.append(idea)
    return restated


def list_items(answer: str) -> list[str]:
    """Each non-empty line of ``answer`` without its list marker ("- ", "2. ")."""
    items = (_LIST_ITEM.sub("", line).strip() for line in answer.splitlines())
    return [item for item in items if item]


def check_answer(
    task: Task,
    answer: str,
    *,
    source: str,
    notes: str = "",
    prompt_texts: Sequence[str] = (),
) -> AnswerCheck:
    """Whether ``answer`` is fit for the document, and why not in plain words.

    ``source``: the text the task worked on (for continue: the text before the cursor);
    ``prompt_texts``: everything else the prompt held (instructions, worked examples) that
    must not turn up in the answer."""
    reasons: list[str] = []
    text = answer.strip()
    if not words(text):
        return AnswerCheck(False, ("The model wrote nothing usable.",))
    count = word_count(text)
    source_count = max(word_count(source), 1)

    if task is Task.CONTINUE:
        return AnswerCheck(not _continue_problems(text, source, reasons), tuple(reasons))

    # Length.
    limit = MAX_LENGTH_RATIO.get(task)
    floor = MIN_LENGTH_RATIO.get(task)
    if task in (Task.SHORTEN, Task.SUMMARIZE) and limit is not None:
        allowed = int(source_count * limit)
        if count >= source_count:
            reasons.append(
                f"It came out longer than the original ({count} words vs {source_count})."
                if count > source_count
                else f"It is as long as the original ({count} words)."
            )
        elif count > allowed:
            reasons.append(
                f"It is not short enough ({count} words; at most {allowed} of the "
                f"original's {source_count})."
            )
    elif task is Task.EXPAND and floor is not None:
        if count < source_count * floor:
            reasons.append(
                f"It is not longer than the original ({count} words vs {source_count})."
                if count <= source_count
                else f"It adds too little ({count} words; at least "
                f"{int(source_count * floor + 0.999)} expected from {source_count})."
            )
    elif limit is not None and floor is not None:
        if count > source_count * limit and count - source_count > 8:
            reasons.append(
                f"It came out much longer than the original ({count} words vs {source_count})."
            )
        elif count < source_count * floor and source_count - count > 5:
            reasons.append(f"It left out much of the original ({count} words vs {source_count}).")
    if task is Task.DESCRIBE:
        if not 10 <= count <= DESCRIBE_MAX_WORDS:
            reasons.append(
                f"The description is too {'short' if count < 10 else 'long'} ({count} words)."
            )
        subject = {w for w in _norm(source) if len(w) > 3}
        if subject and not subject & set(_norm(text)):
            reasons.append("It describes something other than your subject.")

    # Copying the prompt, talking about the text.
    leak = _leaks(text, source, prompt_texts)
    if leak:
        reasons.append(f'It copied words from the instructions or examples ("{leak}").')
    meta = _META.search(text)
    if meta and not re.search(re.escape(meta.group(0)), source, re.IGNORECASE):
        line = text[max(0, meta.start() - 20) : meta.end() + 30]
        reasons.append(f'It talks about the text instead of writing it ("{_quote(line)}").')
    if _LETTER_OPENING.search(text) and not _LETTER_OPENING.search(source):
        reasons.append("It turned the text into a letter.")

    # Repetition and echo.
    repeated = _repeated_sentence(text)
    if repeated:
        reasons.append(f'It repeats itself ("{_quote(repeated)}").')
    norm_source, norm_text = " ".join(_norm(source)), " ".join(_norm(text))
    if task is Task.DESCRIBE:  # naming the subject is good; only saying nothing more is not
        if norm_text and norm_text in norm_source:
            reasons.append("It repeated your subject instead of describing it.")
    elif task is not Task.EXPAND and norm_source and norm_source in norm_text:
        if count > source_count * 1.1:
            reasons.append("It repeated the original and added text of its own.")
        elif task in (Task.REWRITE, Task.CHANGE_TONE):
            reasons.append("It returned the text unchanged.")
    if task is Task.EXPAND and norm_text.count(norm_source) > 1:
        reasons.append("It repeated the original.")

    # Faithfulness: a shorter or rewritten text says nothing the source does not.
    new_share = NEW_WORDS_SHARE.get(task)
    if new_share is not None:
        added = _new_content_words(text, source + " " + notes)
        content = _content_words(text)
        if content and len(added) / len(content) > new_share and len(added) >= 2:
            reasons.append(
                f"It says things your text does not ({', '.join(sorted(set(added))[:4])})."
            )
    if task is Task.SHORTEN:
        kept, total = _content_kept(text, source)
        if total >= MIN_CONTENT_FOR_COVERAGE and kept < total * MIN_SHORTEN_COVERAGE:
            reasons.append(f"It keeps too little of what your text says ({kept} of {total} words).")

    # Names and numbers.
    if task in (Task.SHORTEN, Task.SUMMARIZE, Task.EXPAND, Task.REWRITE, Task.CHANGE_TONE):
        reasons.extend(_name_problems(task, text, source, notes))
    if task in KEEPS_THE_FACTS:
        invented_numbers = sorted(numbers(text, answer=True) - numbers(f"{source}\n{notes}"))
        if invented_numbers:
            reasons.append(
                f"It gives numbers your text does not ({', '.join(invented_numbers[:3])})."
            )

    if task is Task.BRAINSTORM:
        ideas = list_items(text)
        restated = restated_ideas(ideas, source)
        distinct = {tuple(_norm(i)) for i in ideas if _norm(i) and i not in restated}
        if len(distinct) < BRAINSTORM_MIN_IDEAS:
            repeats = f" ({len(restated)} repeated your text)" if restated else ""
            reasons.append(
                f"It gave {len(distinct)} distinct idea{'s' if len(distinct) != 1 else ''}"
                f"{repeats}; at least {BRAINSTORM_MIN_IDEAS} were asked for."
            )
        long = [i for i in ideas if word_count(i) > BRAINSTORM_MAX_IDEA_WORDS]
        if long:
            reasons.append(f"An idea runs on too long ({word_count(long[0])} words).")
    return AnswerCheck(not reasons, tuple(reasons))


def _stem(word: str) -> str:
    return word[:5]


def _content_words(text: str) -> list[str]:
    return [w for w in _norm(text) if len(w) > 3 and w not in _STOP_WORDS]


def _content_kept(text: str, source: str) -> tuple[int, int]:
    """How many of ``source``'s distinct content words (by stem) ``text`` keeps, of how many."""
    stems = {_stem(w) for w in _content_words(source)}
    return len(stems & {_stem(w) for w in _norm(text)}), len(stems)


def _new_content_words(text: str, source: str) -> list[str]:
    """Content words of ``text`` whose stem never occurs in ``source``."""
    known = {_stem(w) for w in _norm(source)}
    return [w for w in _content_words(text) if _stem(w) not in known]


def _without_possessive(word: str) -> str:
    """The word without a possessive ending: "Brandt's" is the name Brandt."""
    return re.sub(r"['’]s?$", "", word)


# One line of words each reads better than a list literal of them.
_CARDINALS = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905
_ORDINALS = (  # noqa: SIM905
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_NUMBER_WORDS = {
    **{word: n for n, word in enumerate(_CARDINALS)},
    **{word: n for n, word in enumerate(_ORDINALS)},
    **{word: 20 + 10 * n for n, word in enumerate(_TENS)},
    **{word[:-1] + "ieth": 20 + 10 * n for n, word in enumerate(_TENS)},
}
_MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_DIGITS = re.compile(r"\d+(?:[.,:]\d+)*")
_NUMBER_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")


def numbers(text: str, *, answer: bool = False) -> set[str]:
    """The numbers ``text`` gives, as digits: "fifteen", "15" and "twenty-first" are "15",
    "15" and "21"; "two hundred" is "200". With ``answer``, only what clearly is a number
    (digits, and number words from "two" up) counts."""
    found = {digits.replace(",", "") for digits in _DIGITS.findall(text)}
    previous: int | None = None
    for word in _NUMBER_WORD.findall(text.lower()):
        parts = word.split("-")
        value: int | None = None
        if all(part in _NUMBER_WORDS for part in parts):
            value = sum(_NUMBER_WORDS[part] for part in parts)
        elif word in _MULTIPLIERS and previous is not None:
            value = previous * _MULTIPLIERS[word]
            found.discard(str(previous))
        if value is not None and not (answer and (value < 2 or word in _ORDINALS[:3])):
            found.add(str(value))
        previous = value
    return found


def _name_problems(task: Task, text: str, source: str, notes: str) -> list[str]:
    problems = []
    source_names = proper_names(source) | (notes_names(notes) & set(words(source)))
    answer_words = {_without_possessive(w) for w in words(text)}
    missing = sorted(n for n in source_names if _without_possessive(n) not in answer_words)
    if task in (Task.SHORTEN, Task.SUMMARIZE):
        if source_names and len(missing) == len(source_names):
            problems.append(f"It lost the names in your text ({', '.join(missing[:3])}).")
    elif missing:
        problems.append(f"It dropped names from your text ({', '.join(missing[:3])}).")
    known = {_without_possessive(w).lower() for w in words(source) + words(notes)}
    invented = sorted(n for n in proper_names(text) if _without_possessive(n).lower() not in known)
    if invented:
        problems.append(
            f"It brought in names that are not in your text ({', '.join(invented[:3])})."
        )
    return problems


def _continue_problems(text: str, before: str, reasons: list[str]) -> list[str]:
    tokens = _norm(text)
    if len(tokens) >= 12 and distinct_2(text) < MIN_DISTINCT_2:
        reasons.append("It went round in circles.")
    repeated = _repeated_sentence(text)
    if repeated:
        reasons.append(f'It repeats itself ("{_quote(repeated)}").')
    before_sentences = {tuple(_norm(s)) for s in sentences(before[-4000:])}
    for sentence in sentences(text):
        key = tuple(_norm(sentence))
        if len(key) >= 5 and key in before_sentences:
            reasons.append(f'It repeated a sentence from your text ("{_quote(sentence)}").')
            break
    if "[Notes:" in text or re.search(r"^\s*notes?\s*:", text, re.IGNORECASE):
        reasons.append("It wrote out the document notes.")
    elif _DEBRIS.search(text) and not _DEBRIS.search(before[-4000:]):
        reasons.append("It wrote web-page clutter instead of prose.")
    meta = _META.search(text)
    if meta and not re.search(re.escape(meta.group(0)), before[-4000:], re.IGNORECASE):
        line = text[max(0, meta.start() - 20) : meta.end() + 30]
        reasons.append(f'It talks about the text instead of continuing it ("{_quote(line)}").')
    return reasons
