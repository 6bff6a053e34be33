"""The one atomic-write helper: old or new content, never half; modes kept; no shared temps."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import atomic_write
from atomic_write import write_bytes, write_chunks, write_text

ROOT = Path(__file__).resolve().parents[1]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_an_error_mid_write_leaves_the_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "chapter.md"
    target.write_text("old words")

    def broken() -> Iterator[bytes]:
        yield b"new wo"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_chunks(target, broken())
    assert target.read_text() == "old words"
    assert leftovers(tmp_path) == []


def test_a_writer_killed_mid_write_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "chapter.md"
    target.write_text("old words")
    writer = """
import sys, time
from pathlib import Path
from atomic_write import write_chunks

def slow():
    yield b"new words, half of them"
    print("writing", flush=True)
    time.sleep(60)
    yield b" and the rest"

write_chunks(Path(sys.argv[1]), slow())
"""
    process = subprocess.Popen(
        [sys.executable, "-c", writer, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "writing"
        assert len(leftovers(tmp_path)) == 1  # the half-written temp, beside the target
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        process.kill()
    assert target.read_text() == "old words"


def test_the_file_mode_is_kept_and_new_files_get_the_plain_mode(tmp_path: Path) -> None:
    private = tmp_path / "private.txt"
    private.write_text("a")
    private.chmod(0o600)
    write_text(private, "b")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text() == "b"
    fresh = tmp_path / "fresh.txt"
    write_text(fresh, "c")
    assert stat.S_IMODE(fresh.stat().st_mode) == atomic_write.NEW_FILE_MODE


def test_concurrent_writers_never_share_a_temp_file(tmp_path: Path) -> None:
    # Every writer has its temp file open at once (the barrier), so a temp name shared between
    # writers of one process (named by PID, say) would mix their bytes or lose a rename.
    target = tmp_path / "license.txt"
    writers = 6
    barrier = threading.Barrier(writers, timeout=30)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        def chunks() -> Iterator[bytes]:
            yield f"writer {n} ".encode()
            barrier.wait()
            yield (f"{n}" * 10_000).encode()

        try:
            write_chunks(target, chunks())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    winner = int(target.read_text().split()[1])
    assert target.read_text() == f"writer {winner} " + f"{winner}" * 10_000
    assert leftovers(tmp_path) == []


def test_the_folder_is_fsynced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.txt"
    synced: list[tuple[str, bool]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        synced.append(("rename", False))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_bytes(target, b"x")
    assert synced == [("fsync", False), ("rename", False), ("fsync", True)]


def test_ready_can_refuse_or_fail_and_nothing_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    target.write_text("mine")
    assert write_chunks(target, [b"theirs"], ready=lambda: False) is False
    assert target.read_text() == "mine" and leftovers(tmp_path) == []

    def mismatch() -> bool:
        raise ValueError("hash mismatch")

    with pytest.raises(ValueError, match="mismatch"):
        write_chunks(target, [b"theirs"], ready=mismatch)
    assert target.read_text() == "mine" and leftovers(tmp_path) == []


def test_a_missing_folder_is_an_error_unless_asked_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes(tmp_path / "missing" / "a.txt", b"x")
    write_bytes(tmp_path / "made" / "deep" / "a.txt", b"x", make_parents=True)
    assert (tmp_path / "made" / "deep" / "a.txt").read_bytes() == b"x"


def test_every_room_writes_through_the_one_helper(tmp_path: Path) -> None:
    from desktop.library import atomic_write as library_write
    from desktop.sync import library_files
    from licensing.client import atomic_file

    assert library_write.atomic_write_bytes is write_bytes
    licensed = tmp_path / "license" / "license.txt"
    atomic_file.write_atomically(licensed, b"cert")  # makes the folder
    assert licensed.read_bytes() == b"cert"
    synced = tmp_path / "sync" / "a.md"

    digest = hashlib.sha256(b"text").hexdigest()
    assert library_files.atomic_write_chunks(synced, [b"te", b"xt"], digest) == (digest, 4)
    with pytest.raises(library_files.ContentMismatch):
        library_files.atomic_write_chunks(synced, [b"other"], digest)
    assert synced.read_bytes() == b"text"
    assert leftovers(synced.parent) == []
