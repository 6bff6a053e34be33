"""Finding the OS keyring starts no programs (``licensing/client/os_keyring.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter, as the app starts: counts the programs started while keyring finds its
# backend, and says which backend it found.
PROBE = """
import sys
started = []
def count(event, args):
    if event == "subprocess.Popen":
        started.append(args[0])
sys.addaudithook(count)
{imports}
backend = keyring.get_keyring()
print(type(backend).__module__ + "." + type(backend).__name__)
print(started)
"""
OURS = "from licensing.client.os_keyring import keyring"
PLAIN = "import keyring"


def find_backend(imports: str, home: Path) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON_KEYRING")}
    # No keyring settings file of the machine's user: keyring looks through its backends.
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(imports=imports)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    backend, started = done.stdout.strip().splitlines()[-2:]
    return backend, started


@pytest.mark.skipif(sys.platform != "linux", reason="the programs are Linux's find_library")
def test_finding_the_keyring_starts_no_program_and_finds_the_same_backend(
    tmp_path: Path,
) -> None:
    ours, started = find_backend(OURS, tmp_path)
    assert started == "[]"
    plain, started_plain = find_backend(PLAIN, tmp_path)
    assert "ldconfig" in started_plain  # what the module spares every start
    assert ours == plain
