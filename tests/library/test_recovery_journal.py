from __future__ import annotations

import json
from pathlib import Path

from desktop.library import DocumentFile, RecoveryJournal


def test_journal_offers_text_newer_than_disk(tmp_path: Path) -> None:
    doc_path = tmp_path / "lib" / "draft.md"
    doc = DocumentFile(doc_path)
    doc.save("saved text")
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(doc_path, "saved text plus two seconds of typing")
    # "Crash": a new journal object, as after a restart.
    pending = RecoveryJournal(tmp_path / "journal").pending()
    assert len(pending) == 1
    assert pending[0].document == doc_path.resolve()
    assert pending[0].text == "saved text plus two seconds of typing"
    assert pending[0].disk_text == "saved text"


def test_entry_equal_to_disk_is_dropped(tmp_path: Path) -> None:
    doc_path = tmp_path / "draft.md"
    DocumentFile(doc_path).save("same")
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(doc_path, "same")
    assert journal.pending() == []
    assert not journal.has_entry(doc_path)


def test_clear_after_save(tmp_path: Path) -> None:
    doc_path = tmp_path / "draft.md"
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(doc_path, "typing")
    journal.clear(doc_path)
    assert journal.pending() == []


def test_document_never_saved_is_recovered(tmp_path: Path) -> None:
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(tmp_path / "gone.md", "text of a file that no longer exists")
    (entry,) = journal.pending()
    assert not entry.disk_exists


def test_damaged_entry_is_ignored_not_fatal(tmp_path: Path) -> None:
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(tmp_path / "a.md", "good")
    (tmp_path / "journal" / "broken.json").write_text("{not json", encoding="utf-8")
    entry_file = next(p for p in (tmp_path / "journal").glob("*.json") if p.name != "broken.json")
    tampered = json.loads(entry_file.read_text(encoding="utf-8"))
    journal.record(tmp_path / "b.md", "other")
    tampered["text"] = "half-written"
    entry_file.write_text(json.dumps(tampered), encoding="utf-8")
    assert [e.text for e in journal.pending()] == ["other"]


def test_background_write_reports_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    journal = RecoveryJournal(blocker / "journal")
    errors: list[OSError] = []
    journal.record_in_background(tmp_path / "a.md", "text", errors.append).result(timeout=10)
    assert len(errors) == 1


def test_background_writes_stay_in_order_with_clear(tmp_path: Path) -> None:
    journal = RecoveryJournal(tmp_path / "journal")
    for n in range(20):
        journal.record_in_background(tmp_path / "a.md", f"version {n}")
    journal.clear(tmp_path / "a.md")
    assert journal.pending() == []
    journal.record_in_background(tmp_path / "a.md", "latest")
    assert [e.text for e in journal.pending()] == ["latest"]


def test_a_clear_in_the_background_comes_after_the_records_before_it(tmp_path: Path) -> None:
    journal = RecoveryJournal(tmp_path / "journal")
    for n in range(20):
        journal.record_in_background(tmp_path / "a.md", f"version {n}")
    journal.clear_in_background(tmp_path / "a.md")  # a save: the GUI thread does not wait
    assert journal.pending() == []
