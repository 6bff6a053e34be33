"""The artefact scan refuses every kind of thing that must never ship, and passes a clean tree."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from installer.scan_artefacts import main, scan

# Built at run time so this file itself never looks like it holds a secret.
PEM = (
    "-----BEGIN " + "PRIVATE KEY-----\n" + "MC4CAQAwBQYDK2VwBCIEI" + "A" * 40 + "\n-----END "
    "PRIVATE KEY-----\n"
)
PLANTED = {
    "_internal/tensorflow/__init__.py": ("", "TensorFlow"),
    "_internal/tf2onnx/convert.py": ("", "tf2onnx"),
    "_internal/fastapi/__init__.py": ("", "license server"),
    "_internal/sqlalchemy/orm.py": ("", "license server"),
    "_internal/licensing/server/app.py": ("", "license server"),
    "_internal/inference/export/build.py": ("", "model build pipeline"),
    "_internal/pytest/__init__.py": ("", "test tools"),
    "_internal/tests/__pycache__/test_x.cpython-311.pyc": ("", "tests' __pycache__"),
    "_internal/config/.env": ("STRIPE=1", "secret's file"),
    "_internal/signing.pem": (PEM, "private key"),
    "_internal/keys/notes.txt": (PEM, "private key"),
    "_internal/hook.cfg": ("secret = whsec_" + "a1B2c3D4e5F6g7H8i9", "whsec_"),
    "_internal/pay.json": ('{"key": "sk_' + "live_" + "Z" * 24 + '"}', "Stripe"),
    "_internal/test_private_key.bin": ("x", "test key"),
    "_internal/libtensorflow_framework.so.2": ("x", "TensorFlow"),
}
CLEAN = {
    "draftsmith": "#!ELF-ish placeholder",
    "_internal/onnxruntime/capi/libonnxruntime.so": "x",
    "_internal/certifi/cacert.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    "_internal/licensing/client/certificate.py": "LABEL = 'DRAFTSMITH LICENSE'",
    "_internal/numpy/tests/__init__.py": "",
    "_internal/inference/bundled_models/m/tokenizer.json": "{}",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_clean_bundle_passes(tmp_path: Path) -> None:
    assert scan(_tree(tmp_path / "bundle", CLEAN)) == []


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_each_forbidden_thing_is_found(tmp_path: Path, name: str) -> None:
    text, reason = PLANTED[name]
    root = _tree(tmp_path / "bundle", {**CLEAN, name: text})
    findings = scan(root)
    assert any(name in finding and reason in finding for finding in findings), findings


def test_a_tarball_is_opened_and_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = _tree(tmp_path / "bundle", {**CLEAN, "_internal/config/.env": "X=1"})
    tarball = tmp_path / "app.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(root, arcname="app")
    assert main([str(tarball)]) == 1
    assert ".env" in capsys.readouterr().out
