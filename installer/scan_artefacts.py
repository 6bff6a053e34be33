"""Refuse an artefact that carries what must never ship: private keys, ``.env`` files, webhook
secrets or API tokens, test keys or tests' ``__pycache__``, TensorFlow and the other build,
server and test tools.

    python installer/scan_artefacts.py dist/draftsmith dist/draftsmith_0.1.0_amd64.deb ...

Folders, ``.deb``, ``.tar.gz``/``.tgz`` and ``.zip`` are scanned: every file's path and bytes,
and the Python modules inside PyInstaller executables (their archive is compressed, so a
plain byte search would miss them). Exit status 1 and one line per finding when anything is
found."""

from __future__ import annotations

import argparse
import marshal
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

# Top-level Python packages (or app subpackages) that must not be in the app.
FORBIDDEN_PACKAGES = {
    "tensorflow": "TensorFlow (model build only)",
    "tensorflow_cpu": "TensorFlow (model build only)",
    "keras": "Keras (model build only)",
    "tf_keras": "Keras (model build only)",
    "tf2onnx": "tf2onnx (model build only)",
    "onnx": "onnx (model build only; the app needs onnxruntime)",
    "gguf": "gguf (model build only)",
    "inference.export": "the model build pipeline",
    "licensing.server": "the license server",
    "licensing.tools": "the vendor's license tools",
    "fastapi": "the license server's web framework",
    "starlette": "the license server's web framework",
    "uvicorn": "the license server's web server",
    "sqlalchemy": "the license server's database layer",
    "psycopg": "the license server's database driver",
    "pytest": "test tools",
    "_pytest": "test tools",
    "pytestqt": "test tools",
    "hypothesis": "test tools",
    "mypy": "dev tools",
    "ruff": "dev tools",
    "wsgidav": "test tools",
    "aiosmtpd": "test tools",
    "tests": "the test suite",
}
FORBIDDEN_LIBRARY = re.compile(r"^lib(tensorflow|tf2onnx)", re.IGNORECASE)
SECRET_FILE_NAMES = re.compile(
    r"(^\.env(\..+)?$|\.key$|\.p12$|\.pfx$|^id_(rsa|ed25519|ecdsa)$)", re.IGNORECASE
)
TEST_KEY_NAME = re.compile(r"test.*(key|cert|secret)|(key|secret).*test", re.IGNORECASE)
# reason -> (literals that any match contains, the full pattern). The literals are a fast
# prefilter (bytes.find) so hundreds of megabytes scan in seconds.
SECRET_CONTENT: dict[str, tuple[tuple[bytes, ...], re.Pattern[bytes]]] = {
    "a private key (PEM)": (
        (b"PRIVATE KEY-----",),
        re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\s*[A-Za-z0-9+/=\r\n]{40}"),
    ),
    "a webhook secret (whsec_)": ((b"whsec_",), re.compile(rb"whsec_[A-Za-z0-9+/=]{16,}")),
    "a Stripe API key": (
        (b"k_live_", b"k_test_"),
        re.compile(rb"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ),
    "a GitHub token": (
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
        re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36}"),
    ),
    "an AWS access key": ((b"AKIA",), re.compile(rb"\bAKIA[0-9A-Z]{16}\b")),
    "a Slack token": ((b"xox",), re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
}
PYINSTALLER_MAGIC = b"MEI\014\013\012\013\016"
EXECUTABLE_MAGIC = (b"\x7fELF", b"MZ\x90\x00", b"\xcf\xfa\xed\xfe")  # Linux, Windows, macOS


def _package_finding(dotted: str) -> str | None:
    """Why a module (``a.b.c``) must not ship, or None."""
    parts = dotted.split(".")
    return FORBIDDEN_PACKAGES.get(".".join(parts[:2])) or FORBIDDEN_PACKAGES.get(parts[0])


def _path_findings(relative: Path) -> Iterator[str]:
    parts = relative.parts
    for index, part in enumerate(parts[:-1]):  # folders: a package anywhere in the tree
        if part == "tests" and index > 1:
            continue  # a library's own test folder deep inside it is not ours
        reason = _package_finding(".".join(parts[index : index + 2]))
        if reason:
            yield f"{relative}: {reason}"
            break
    name = relative.name
    if FORBIDDEN_LIBRARY.match(name):
        yield f"{relative}: TensorFlow library"
    if SECRET_FILE_NAMES.search(name):
        yield f"{relative}: a secret's file ({name})"
    if TEST_KEY_NAME.search(name) and not name.endswith((".py", ".pyc")):
        yield f"{relative}: looks like a test key or secret ({name})"
    if "__pycache__" in parts and "tests" in parts:
        yield f"{relative}: tests' __pycache__"


def _content_findings(label: str, data: bytes) -> Iterator[str]:
    for reason, (literals, pattern) in SECRET_CONTENT.items():
        if any(literal in data for literal in literals) and pattern.search(data):
            yield f"{label}: contains {reason}"


def _frozen_module_findings(path: Path, label: str) -> Iterator[str]:
    """Python modules inside a PyInstaller executable's compressed archive."""
    try:
        from PyInstaller.archive.readers import CArchiveReader
    except ImportError:
        yield f"{label}: PyInstaller executable, but PyInstaller is not installed to read it"
        return
    archive = CArchiveReader(str(path))
    for name in archive.toc:
        if not name.endswith(".pyz"):
            continue
        pyz = archive.open_embedded_archive(name)
        for module in pyz.toc:
            reason = _package_finding(module)
            if reason:
                yield f"{label}::{module}: {reason}"
                continue
            try:
                code = pyz.extract(module)
            except Exception as error:  # an unreadable entry is itself worth a look
                yield f"{label}::{module}: cannot be read ({error})"
                continue
            if code is not None:
                yield from _content_findings(f"{label}::{module}", marshal.dumps(code))


def scan_folder(root: Path, label: str | None = None) -> list[str]:
    label = label or str(root)
    findings: list[str] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        shown = f"{label}/{relative}"
        findings.extend(f"{label}/{f}" for f in _path_findings(relative))
        if path.is_dir() or path.is_symlink():
            continue
        data = path.read_bytes()
        findings.extend(_content_findings(shown, data))
        if path.suffix == ".pem" and b"PRIVATE KEY" in data:
            findings.append(f"{shown}: contains a private key (PEM)")
        if (
            data[:4] in (b"\x7fELF", b"MZ\x90\x00", b"\xcf\xfa\xed\xfe")
            and PYINSTALLER_MAGIC in data
        ):
            findings.extend(_frozen_module_findings(path, shown))
    return sorted(set(findings))


def scan(artefact: Path) -> list[str]:
    """Findings for a folder, .deb, .tar.gz/.tgz or .zip (empty when it is clean)."""
    if artefact.is_dir():
        return scan_folder(artefact)
    with tempfile.TemporaryDirectory(prefix="draftsmith-scan-") as tmp:
        root = Path(tmp)
        name = artefact.name
        if name.endswith(".deb"):
            subprocess.run(["dpkg-deb", "-x", str(artefact), str(root / "data")], check=True)
            subprocess.run(["dpkg-deb", "-e", str(artefact), str(root / "DEBIAN")], check=True)
        elif name.endswith((".tar.gz", ".tgz", ".tar.xz", ".tar")):
            with tarfile.open(artefact) as archive:
                archive.extractall(root / "data", filter="data")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(artefact) as archive:
                archive.extractall(root / "data")
        else:
            raise ValueError(f"Don't know how to open {artefact} (folder, .deb, .tar.gz, .zip)")
        return [f.replace(str(root), name, 1) for f in scan_folder(root)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artefacts", nargs="+", type=Path)
    args = parser.parse_args(argv)
    dirty = False
    for artefact in args.artefacts:
        findings = scan(artefact)
        if findings:
            dirty = True
            print(f"REFUSED {artefact}: {len(findings)} problem(s)")
            for finding in findings:
                print(f"  {finding}")
        else:
            print(f"clean   {artefact}")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
