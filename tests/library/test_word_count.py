"""The word-count rule for Chinese, Japanese and Korean: each Han, Kana or Hangul character
is one word; reading time and today's words follow the same rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from desktop.library.daily_progress import DailyProgress
from desktop.library.word_count import (
    ParagraphWordCounter,
    count_words,
    count_words_and_cjk,
    reading_minutes,
)

CHINESE = "我们今天去公园散步，天气很好。"  # 13 Han characters, two punctuation marks
JAPANESE = "今日はいい天気ですね。カタカナも数える。"  # 18 kana/kanji, two 。
KOREAN = "안녕하세요 세계"  # 7 Hangul syllables


def test_each_chinese_character_is_a_word() -> None:
    assert count_words(CHINESE) == 13
    assert count_words_and_cjk(CHINESE) == (13, 13)


def test_japanese_kanji_hiragana_and_katakana_each_count() -> None:
    assert count_words(JAPANESE) == 18


def test_each_hangul_syllable_is_a_word() -> None:
    assert count_words(KOREAN) == 7


def test_mixed_text_counts_latin_words_and_cjk_characters() -> None:
    assert count_words("我爱Python编程 and writing") == 7  # 我 爱 Python 编 程 and writing
    assert count_words("# 第一章\n\nThe 东京 story, don't stop.") == 3 + 2 + 4


def test_paragraph_counter_agrees_and_reports_cjk_for_reading_time() -> None:
    counter = ParagraphWordCounter()
    text = "\n".join([CHINESE, JAPANESE, KOREAN, "plain English words"])
    assert counter.count(text) == count_words(text) == 13 + 18 + 7 + 3
    assert counter.count_with_cjk(text) == (41, 38)


def test_reading_time_reads_cjk_characters_faster_than_words() -> None:
    assert reading_minutes(0) == 0
    assert reading_minutes(460) == 2  # 230 words a minute
    assert reading_minutes(800, 800) == 2  # 400 characters a minute, not 230
    assert reading_minutes(1030, 800) == 3  # 2 min of characters + 1 min of words


def test_daily_goal_counts_chinese_characters(tmp_path: Path) -> None:
    progress = DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1))
    progress.update(Path("a.md"), count_words(""))
    progress.update(Path("a.md"), count_words(CHINESE * 3))
    assert progress.words_today() == 39
