"""A newer edit is never silently replaced by an older text (issue 12, finding 1).

A creates N.md; B renames it to M.md, edits M.md, then creates a new N.md; C, which still
has the old N.md on disk, syncs. When C writes the new N.md it must move its stale copy of
the old document out of the way without publishing that stale text as the newest version.
Which document wins the name depends on the order of their ids, so both orders are run.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.sync.dav_harness import DavServer, Fleet
from tests.sync.sync_invariants import duplicate_conflict_copies, newest_edit_missing

_token_hex = secrets.token_hex


def _ids_starting_with(prefix: str) -> Iterator[str]:
    while True:
        yield prefix + _token_hex(16)[len(prefix) :]


@pytest.mark.parametrize("new_doc_sorts", ["below", "above"])
def test_rename_edit_and_new_document_with_the_old_name_keep_the_newest_text(
    dav: DavServer, fleet_factory, monkeypatch: pytest.MonkeyPatch, new_doc_sorts: str
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("A"), fleet.add("B"), fleet.add("C")
    a.write("N.md", "T1 first text\n")
    fleet.sync_all()
    old_doc = next(d.doc_id for d in c.engine.state.local_docs() if d.path == "N.md")

    (b.library / "N.md").rename(b.library / "M.md")
    b.sync()
    b.write("M.md", "T2 the newest edit\n")
    b.sync()
    # The new document's id sorts below or above the old one's ("d" + hex).
    prefix = "00000000" if new_doc_sorts == "below" else "ffffffff"
    fake = _ids_starting_with(prefix)
    with monkeypatch.context() as patch:
        patch.setattr(secrets, "token_hex", lambda n=32: next(fake)[: 2 * n])
        b.write("N.md", "T3 a new document\n")
        b.sync()
    new_doc = next(d.doc_id for d in b.engine.state.local_docs() if d.path == "N.md")
    assert (new_doc < old_doc) == (new_doc_sorts == "below")

    c.sync()
    c.sync()
    fleet.sync_all()

    assert newest_edit_missing([a, b, c]) == []
    for device in (a, b, c):
        assert device.files() == {"M.md": "T2 the newest edit\n", "N.md": "T3 a new document\n"}
    assert [p for d in (a, b, c) for p in duplicate_conflict_copies(d)] == []
