"""The vendor's command line, run in-process against a real SQLite database."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from licensing.client import ActivationClient, ActivationError
from licensing.server.signing import load_signer
from licensing.tools.cli import main
from tests.licensing.conftest import RunningServer, cert_payload

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_keygen_writes_a_private_key_only_its_owner_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "vendor" / "ds-test.pem"
    code, text = run(capsys, "keygen", "--out", str(out), "--kid", "ds-test")
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert re.search(r'"ds-test": "[A-Za-z0-9+/]{43}=",', text)
    assert load_signer(out, "ds-test").kid == "ds-test"
    code, text = run(capsys, "keygen", "--out", str(out))
    assert code == 2 and "refusing to overwrite" in text


def test_keygen_refuses_a_path_inside_the_repository(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = REPO / "licensing" / "never-here.pem"
    code, text = run(capsys, "keygen", "--out", str(target))
    assert code == 2 and "inside the git repository" in text
    assert not target.exists()


def test_a_group_readable_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k.pem"
    run(capsys, "keygen", "--out", str(out))
    out.chmod(0o640)
    from licensing.server.signing import SigningKeyError

    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signer(out, "x")


def test_mint_list_suspend_reinstate_and_activations(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = server.settings.database_url
    code, text = run(
        capsys,
        "mint",
        "--db",
        db,
        "--edition",
        "pro",
        "--seats",
        "2",
        "--updates-until",
        "2027-12-31",
        "--email",
        "b@example.org",
    )
    assert code == 0
    license_id = re.search(r"license: (lic_\w+)", text).group(1)
    key = re.search(r"key:\s+(\S+)", text).group(1)
    client = ActivationClient(server.url)
    client.activate(key)
    code, text = run(capsys, "list", "--db", db)
    assert f"{license_id}  active    pro" in text and "1/2 machines" in text
    code, text = run(capsys, "activations", license_id, "--db", db)
    assert code == 0 and "1 of 2 machines" in text
    assert run(capsys, "suspend", license_id, "--db", db)[0] == 0
    with pytest.raises(ActivationError) as info:
        client.activate(key)
    assert info.value.code == "SUSPENDED"
    assert run(capsys, "reinstate", license_id, "--db", db)[0] == 0
    client.activate(key)
    code, text = run(capsys, "revoke", "lic_nope", "--db", db)
    assert (code, text) == (2, "error: No license with id lic_nope.\n")


def test_inspect_verifies_with_the_vendor_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "k.pem"
    run(capsys, "keygen", "--out", str(key_path), "--kid", "ds-x")
    signer = load_signer(key_path, "ds-x")
    good = tmp_path / "license.txt"
    good.write_text(signer.certificate(cert_payload()))
    code, text = run(capsys, "inspect", str(good), "--private-key", str(key_path), "--kid", "ds-x")
    assert code == 0 and "VALID signature" in text and '"license_id": "lic_test"' in text
    # the app's compiled keys do not know this key
    code, text = run(capsys, "inspect", str(good))
    assert code == 1 and "INVALID" in text
    tampered = tmp_path / "tampered.txt"
    lines = good.read_text().splitlines()
    lines[1] = ("B" if lines[1][0] != "B" else "C") + lines[1][1:]
    tampered.write_text("\n".join(lines))
    code, text = run(
        capsys, "inspect", str(tampered), "--private-key", str(key_path), "--kid", "ds-x"
    )
    assert code == 1 and "INVALID" in text


def test_server_configured_from_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_key: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What `draftsmith-license serve` runs: settings and signing key from the environment."""
    import os

    from cryptography.hazmat.primitives import serialization

    from licensing.server.app import app_from_env
    from tests.licensing.conftest import TEST_KID, serve

    key_file = tmp_path / "signing.pem"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(
        fd,
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    os.close(fd)
    db = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("DRAFTSMITH_LICENSE_SIGNING_KEY", str(key_file))
    monkeypatch.setenv("DRAFTSMITH_LICENSE_KID", TEST_KID)
    monkeypatch.setenv("DRAFTSMITH_LICENSE_DB", db)
    url, server, thread = serve(app_from_env())
    try:
        code, text = run(capsys, "mint", "--edition", "env-test")  # --db from the environment
        assert code == 0
        key = re.search(r"key:\s+(\S+)", text).group(1)
        activation = ActivationClient(url).activate(key)
        assert activation.certificate.edition == "env-test"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    monkeypatch.delenv("DRAFTSMITH_LICENSE_SIGNING_KEY")
    with pytest.raises(ValueError, match="DRAFTSMITH_LICENSE_SIGNING_KEY"):
        app_from_env()


@pytest.mark.parametrize("edition", ["Pro Edition", "x" * 41, "pro/edition", "-pro", ""])
def test_mint_refuses_an_edition_the_app_could_not_read(
    server: RunningServer, capsys: pytest.CaptureFixture[str], edition: str
) -> None:
    db = server.settings.database_url
    code, text = run(capsys, "mint", "--db", db, f"--edition={edition}")
    assert code == 2
    assert "edition" in text and "Traceback" not in text and "ValueError" not in text
    assert run(capsys, "list", "--db", db)[1].strip() == ""  # nothing was minted


def test_every_edition_mint_accepts_activates_and_reads_in_the_app(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = server.settings.database_url
    edition = "Pro_2027.Team-" + "x" * 26  # 40 characters, every allowed kind
    code, text = run(capsys, "mint", "--db", db, "--edition", edition)
    assert code == 0, text
    key = re.search(r"key:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    assert ActivationClient(server.url).activate(key).certificate.edition == edition
