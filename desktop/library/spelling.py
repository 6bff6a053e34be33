"""Spell checking with pyspellchecker's bundled dictionaries (no network) plus a personal
word list in the user's config dir.

The first load of a language builds its word table (~0.3 s), so the UI loads in a worker;
later starts read the table from the cache folder in milliseconds. ``is_correct`` is a
bisection of that table (a few µs, remembered per word), cheap enough for the highlighter.
"""

from __future__ import annotations

import json
import logging
import pkgutil
import re
import string
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import atomic_write
from desktop.interpreter_lock import hand_over
from desktop.library.word_list import WordList

logger = logging.getLogger(__name__)

LANGUAGES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt": "Português",
    "it": "Italiano",
    "nl": "Nederlands",
    "ru": "Русский",
}
# The script each bundled dictionary covers: words in any other script (Chinese, Japanese,
# Korean, Greek…) are not this dictionary's business and are never marked as misspelled.
SCRIPTS = {code: "CYRILLIC" if code == "ru" else "LATIN" for code in LANGUAGES}
# Words of the app's own vocabulary that the bundled dictionaries don't know.
BUILT_IN_WORDS = frozenset({"draftsmith", "ctrl", "alt", "markdown", "docx", "pdf", "html"})
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# The bundled English list spells the American way. British, Australian and other
# Commonwealth spellings are accepted when one of these rewrites (one or two of them) gives
# a word of the list: harbour, realise, analyse, centre, travelled, defence, programme,
# catalogue, paediatric, manoeuvre, cheque, sceptical, aluminium.
BRITISH_TO_AMERICAN = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"our", "or"),
        (r"is(e|ed|es|ing|ation|ations|er|ers)$", r"iz\1"),
        (r"ys(e|ed|es|ing|er|ers)$", r"yz\1"),
        (r"([tbgvh])re(s?)$", r"\1er\2"),
        (r"([tbgvh])red$", r"\1ered"),
        (r"ll(ed|ing|er|ers|ery)$", r"l\1"),
        (r"ence(s?)$", r"ense\1"),
        (r"mme(s?)$", r"m\1"),
        (r"ogue(s?)$", r"og\1"),
        (r"^(ortho|encyclo)?paed", r"\1ped"),
        (r"^(an)?haem", r"\1hem"),
        (r"^anae(m|st)", r"ane\1"),
        (r"^mediaev", "mediev"),
        (r"^aetio", "etio"),
        (r"^oe(soph|str)", r"e\1"),
        (r"^foet", "fet"),
        (r"^manoeuv", "maneuv"),
        (r"oea$", "ea"),
        (r"que(s?)$", r"ck\1"),
        (r"^scep", "skep"),
        (r"ium$", "um"),
    )
)
# Whether any rewrite applies at all: most unknown words (names) take no rewrite, and this
# answers for them in one search (the highlighter asks on the GUI thread).
_BRITISH_HINT = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in BRITISH_TO_AMERICAN))


# Parse the bundled dictionary this many characters at a time: one ``json.loads`` of the whole
# 2.7 MB file holds the interpreter lock for ~150 ms, which froze the GUI thread (typing,
# painting) in the first seconds after start-up while the dictionary loaded in its thread.
PARSE_CHUNK_CHARS = 32 * 1024  # bytes of the unpacked JSON
UNPACK_CHUNK_BYTES = 64 * 1024  # of the gzip file (~4x that unpacked)


def _bundled(language: str) -> bytes:
    # Imported, not only named: the installed app's bundler packs only the packages it sees
    # imported, and nothing else imports pyspellchecker now that its checker isn't used.
    import spellchecker

    packed = pkgutil.get_data(spellchecker.__name__, f"resources/{language}.json.gz")
    if not packed:
        raise ValueError(f"No bundled dictionary for language {language!r}")
    return packed


def load_frequencies(language: str) -> dict[str, int]:
    """The bundled word-frequency list of ``language``."""
    frequencies: dict[str, int] = {}
    for piece in parse_pieces(_bundled(language), language):
        frequencies.update(piece)
    return frequencies


def parse_pieces(packed: bytes, language: str) -> Iterator[dict[str, int]]:
    """A bundled word-frequency list (gzip'd JSON), parsed in small pieces with the
    interpreter lock handed back between them (the GUI thread keeps running)."""
    inflate = zlib.decompressobj(wbits=31)
    parts = []
    for start in range(0, len(packed), UNPACK_CHUNK_BYTES):
        parts.append(inflate.decompress(packed[start : start + UNPACK_CHUNK_BYTES]))
        hand_over()
    parts.append(inflate.flush())
    # Bytes until each piece is parsed (decoding all 2.7 MB at once holds the lock ~10 ms), and
    # pieces cut from the whole by position (each copy of a 10 MB list holds it a few ms).
    text = b"".join(parts)
    first, last = text.find(b"{") + 1, text.rfind(b"}")
    if first == 0 or last < first or text[:first].strip() != b"{" or text[last:].strip() != b"}":
        raise ValueError(f"The bundled dictionary for {language!r} is damaged")
    start = first
    while start < last:
        # Entries start on a new line with a quote; a raw newline can't be inside a JSON
        # string, so each piece holds whole entries.
        end = text.find(b'\n"', start + PARSE_CHUNK_CHARS, last)
        end = last if end < 0 else end
        piece = text[start:end].strip().strip(b",")
        if piece:
            yield json.loads(b"{" + piece + b"}")
        start = end
        hand_over()


def build_table(pieces: Iterable[dict[str, int]]) -> WordList:
    """The bundled list's pieces lower-cased and summed, as pyspellchecker's ``load_json``
    would, without a dict of every word (growing one holds the lock ~20 ms at each resize)."""
    words: list[str] = []
    counts: list[int] = []
    for piece in pieces:
        words.extend(map(str.lower, piece))
        counts.extend(piece.values())
        hand_over()
    return WordList.from_pairs(words, counts)


# The built table is kept in the app's cache folder, so every start after the first reads it in
# a few milliseconds (a copy, a checksum and a decode) instead of ~0.6 s of parsing. Keyed by the
# bundled file's size and CRC, so a new pyspellchecker makes a new one.
TABLE_CACHE_FORMAT = 2


def table_cache_path(cache_dir: Path, language: str, packed: bytes) -> Path:
    key = f"{len(packed)}-{zlib.crc32(packed):08x}-{TABLE_CACHE_FORMAT}"
    return cache_dir / f"{language}-{key}.words"


def read_table(path: Path) -> WordList | None:
    """The table cached at ``path``, or None when there is none or it can't be used."""
    try:
        return WordList.from_bytes(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("Rebuilding the cached spelling dictionary (%s)", error)
        return None


def write_table(path: Path, table: WordList) -> None:
    try:
        atomic_write.write_bytes(path, table.to_bytes(), make_parents=True)
        language = path.name.split("-", 1)[0]
        for older in path.parent.glob(f"{language}-*"):  # an earlier pyspellchecker's or format's
            if older != path and older.suffix in (".words", ".jsonl"):
                older.unlink(missing_ok=True)
    except OSError as error:  # a cache: the next start builds it again
        logger.warning("Couldn't keep the spelling dictionary in the cache: %s", error)


def load_table(language: str, cache_dir: Path | None = None) -> WordList:
    """The word table of ``language``: from ``cache_dir`` when it holds this dictionary's,
    else built from the bundled list (and kept there)."""
    packed = _bundled(language)
    path = table_cache_path(cache_dir, language, packed) if cache_dir is not None else None
    table = read_table(path) if path is not None else None
    if table is None:
        table = build_table(parse_pieces(packed, language))
        if path is not None:
            write_table(path, table)
    return table


class SpellDictionary:
    def __init__(self, language: str, personal_path: Path, cache_dir: Path | None = None) -> None:
        """``cache_dir``: where the built word table is kept between runs (None: not kept)."""
        if language not in LANGUAGES:
            raise ValueError(f"No bundled dictionary for language {language!r}")
        self.language = language
        self.script = SCRIPTS[language]
        self.personal_path = Path(personal_path)
        self._words = load_table(language, cache_dir)
        self._personal: set[str] = set(BUILT_IN_WORDS)
        self._personal_words: WordList | None = None  # the same, searchable; built when needed
        self._cache: dict[str, bool] = {}
        try:
            words = self.personal_path.read_text(encoding="utf-8").split()
            self._personal |= {_normal(w) for w in words}
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("Couldn't read the personal dictionary: %s", exc)

    def is_correct(self, word: str) -> bool:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        lower = _normal(word)
        correct = (
            len(word) < 2
            or not self.covers(word)
            or lower in self._personal
            or lower in self._words
            or word.isupper()
            or (self.language == "en" and self._american_form(lower) is not None)
        )
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[word] = correct
        return correct

    def _american_form(self, lower: str) -> str | None:
        """The word of the (American) list that ``lower`` is the British spelling of."""
        if not _BRITISH_HINT.search(lower):
            return None
        forms = {lower}
        for _ in range(2):  # manoeuvre -> maneuvre -> maneuver
            forms |= {
                rewritten
                for form in forms
                for pattern, replacement in BRITISH_TO_AMERICAN
                if (rewritten := pattern.sub(replacement, form)) != form
            }
        return next((form for form in sorted(forms - {lower}) if form in self._words), None)

    def covers(self, word: str) -> bool:
        """True when every letter of ``word`` is in this dictionary's script."""
        return all(ch in "'’" or unicodedata.name(ch, "").startswith(self.script) for ch in word)

    def misspelled(self, text: str) -> list[tuple[int, int, str]]:
        return [
            (m.start(), m.end(), m.group())
            for m in WORD.finditer(text)
            if not self.is_correct(m.group())
        ]

    def suggestions(self, word: str, limit: int = 7) -> list[str]:
        """What pyspellchecker (distance 2) suggests for ``word``: the known words one edit
        away (in English with the British spellings of known words), else two; its likeliest
        correction first, then the writer's own words, then the more frequent words."""
        lower = _normal(word)
        counts = {candidate: self._count(candidate) for candidate in self._candidates(lower)}
        best = _likeliest(lower, counts)
        own = self._personal
        ranked = sorted(counts, key=lambda w: (w != best, w not in own, -counts[w], w))
        if word[:1].isupper():
            ranked = [w[:1].upper() + w[1:] for w in ranked]
        if "’" in word:  # the writer's apostrophe, not the list's
            ranked = [w.replace("'", "’") for w in ranked]
        return [w for w in ranked if w.lower() != lower][:limit]

    def _candidates(self, lower: str) -> set[str]:
        if lower in self._words or (self.language == "en" and self._american_form(lower)):
            return {lower}
        if not self._worth_correcting(lower):
            return set()
        edits = _one_edit(lower, self._words.letters)
        # The writer's own words (a character's name added to the dictionary) are candidates too.
        one_edit = {w for w in edits if w in self._words} | (edits & self._personal)
        if self.language == "en":  # "harbuor": "harbour" as well as the list's "harbor"
            one_edit |= {w for w in edits - one_edit if self._american_form(w) is not None}
        if one_edit:
            return {w for w in one_edit if self._worth_correcting(w)}
        two_edits = self._words.near(lower, 2) + self._personal_table().near(lower, 2)
        return {w for w in two_edits if self._worth_correcting(w)}

    def _personal_table(self) -> WordList:
        if self._personal_words is None:
            self._personal_words = WordList.from_counts(dict.fromkeys(self._personal, 0))
        return self._personal_words

    def _count(self, word: str) -> int:
        """How often the list has ``word``, or the American spelling of a British one."""
        count = self._words.count(word)
        if count == 0 and self.language == "en":
            count = self._words.count(self._american_form(word) or "")
        return count

    def _worth_correcting(self, word: str) -> bool:
        """pyspellchecker's test of a word it corrects: not punctuation, not a number, at
        most three letters longer than its longest word."""
        if (len(word) == 1 and word in string.punctuation) or len(word) > self._words.longest + 3:
            return False
        if word in ("nan", "inf", "infinity"):
            return True
        try:
            float(word)
        except ValueError:
            return True
        return False

    def add_to_personal(self, word: str) -> None:
        lower = _normal(word)
        self._personal.add(lower)
        self._personal_words = None
        self._cache.pop(word, None)
        self.personal_path.parent.mkdir(parents=True, exist_ok=True)
        with self.personal_path.open("a", encoding="utf-8") as handle:
            handle.write(lower + "\n")


def _one_edit(word: str, letters: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [left + right[1:] for left, right in splits if right]
    swaps = [left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1]
    replaces = [left + c + right[1:] for left, right in splits if right for c in letters]
    inserts = [left + c + right for left, right in splits for c in letters]
    return set(deletes + swaps + replaces + inserts)


def _likeliest(word: str, counts: dict[str, int]) -> str | None:
    """The most frequent candidate, preferring those that differ from ``word`` only in accents
    ("cafe" -> "café"), as pyspellchecker's ``correction``; ties go to the first in order."""
    bare = _without_accents(word)
    same_letters = [w for w in sorted(counts) if _without_accents(w) == bare]
    pool = same_letters or sorted(counts)
    return max(pool, key=counts.__getitem__, default=None)


def _without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _normal(word: str) -> str:
    return word.lower().replace("’", "'")
