"""Nothing leaves the computer: a writing session with AI help, run as a new user in a network
namespace with no route and traced with strace, tries no network connection and writes no file
outside Draftsmith's own folders (in particular none of onnxruntime's telemetry files under
``~/.cache/Microsoft``). The same check for a model build is ``benchmarks/privacy_check.py``
(minutes, too slow for the suite)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.privacy.new_user import NewUser, assert_private
from tests.privacy.syscall_trace import unavailable_reason

# onnxruntime's uploader first runs ~9 s after it starts: a session shorter than that would
# hide it. A writer's session lasts minutes; 15 s covers the first upload with room to spare.
SESSION_SECONDS = 15.0
TIMEOUT_SECONDS = 150.0

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="strace and unshare: Linux"),
    pytest.mark.skipif(bool(unavailable_reason()), reason=unavailable_reason() or "available"),
    pytest.mark.timeout(400),
]


def test_a_writing_session_with_ai_stays_on_this_computer(
    tmp_path: Path, default_model_dir: Path
) -> None:
    user = NewUser(tmp_path)
    trace, output = user.run(
        "app",
        "-m",
        "tests.privacy.app_session",
        str(user.library),
        "--linger-seconds",
        str(SESSION_SECONDS),
        "--timeout-seconds",
        str(TIMEOUT_SECONDS - 20),
    )
    session = json.loads(output.strip().splitlines()[-1])
    assert session["ghost_text"].strip() and session["rewrite"].strip(), session
    assert session["seconds"] >= SESSION_SECONDS
    assert_private(user, trace, "The app", license_check_allowed=True)
    # The session really wrote where it should: the document, settings, the backup.
    assert "The keeper climbed" in (user.library / "Welcome.md").read_text(encoding="utf-8")
    assert (user.home / ".config" / "Draftsmith" / "settings.json").exists()

    text = user.work / "story.txt"
    text.write_text("The keeper climbed the stairs. The lamp was cold, and", encoding="utf-8")
    trace, output = user.run(
        "generate",
        "-m",
        "desktop",
        "generate",
        "--task",
        "continue",
        "--file",
        str(text),
        "--max-tokens",
        "24",
        "--json",
    )
    assert json.loads(output)["text"].strip()
    assert_private(user, trace, "draftsmith generate")

    trace, output = user.run("devices", "-m", "desktop", "devices")
    assert "CPU" in output
    assert_private(user, trace, "draftsmith devices")
