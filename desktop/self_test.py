"""``draftsmith --self-test``: proves an installed copy works, in plain words, and exits 0.

It loads the model that came with the app and generates a few tokens, checks license
verification, finds the keyring backends and the spelling dictionary, writes and reads back
a document, and opens and closes the main window offscreen. Everything it writes goes to a
temporary folder: the writer's settings, library and keyring are never touched.

License check, by design without any test key in the app: the compiled-in key table must
load; a certificate signed by a key pair made up in memory for this run is accepted only when
that key is passed in explicitly, is refused once a byte is changed, and is refused by the
compiled-in table. So the self-test proves the verifier works in this build and cannot be
used to make a license the app would accept.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GENERATED_TOKENS = 8


def _check_model() -> str:
    from inference.model_cache import bundled_models_dir, installed_app
    from inference.model_folder import ModelFolder, ModelFolderError, find_default_model
    from inference.runtime.local_model import LocalModel, RuntimeSettings
    from inference.runtime.sampling import SamplingSettings
    from inference.runtime.tasks import GenerationRequest

    bundled = sorted(p.parent for p in bundled_models_dir().glob("*/draftsmith-model.json"))
    if bundled:
        folder = ModelFolder.open(bundled[0])
    elif installed_app():
        raise ModelFolderError("The AI model that comes with Draftsmith is missing.")
    else:
        found = find_default_model()
        if found is None:
            raise ModelFolderError("No model is built (a source checkout has no bundled one).")
        folder = found
    folder.verify(folder.default_variant)  # checksums of the tokenizer and the variant
    model = LocalModel.load(folder.path, RuntimeSettings(device="cpu", context_tokens=256))
    result = model.run(
        GenerationRequest(
            before="The lighthouse keeper climbed the stairs",
            max_new_tokens=GENERATED_TOKENS,
            sampling=SamplingSettings(temperature=0.0),
        )
    )
    tokens = result.stats.generated_tokens
    if tokens < 1:
        raise RuntimeError("the model generated nothing")
    where = "bundled" if bundled else "built"
    return f"{where} model {folder.name} ({folder.default_variant}) generated {tokens} tokens"


def _check_license() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from licensing.client.certificate import (
        DOCUMENT_TYPE,
        PRODUCT,
        armor,
        check_certificate,
        parse_certificate,
    )
    from licensing.client.errors import CertificateError
    from licensing.client.signed_document import ALGORITHM, encode_envelope, signed_message
    from licensing.client.trusted_keys import trusted_keys

    compiled = trusted_keys()
    if not compiled:
        raise RuntimeError("the app trusts no license key")
    key = Ed25519PrivateKey.generate()  # exists only in this process, for this run
    kid = "self-test-" + secrets.token_hex(4)
    now = int(time.time())
    fingerprint = secrets.token_hex(32)
    payload = json.dumps(
        {
            "v": 1,
            "license_id": "self-test",
            "machine_id": "self-test",
            "product": PRODUCT,
            "edition": "self-test",
            "entitlements": ["ai"],
            "purchased_at": time.strftime("%Y-%m-%d"),
            "updates_until": time.strftime("%Y-%m-%d"),
            "fingerprint": fingerprint,
            "issued": now,
            "refresh_after": now + 3600,
            "nonce": secrets.token_hex(8),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode("ascii")
    signature = key.sign(signed_message(DOCUMENT_TYPE, payload))
    text = armor(encode_envelope(ALGORITHM, kid, payload, signature))
    cert = parse_certificate(text, {kid: key.public_key()})
    check_certificate(cert, fingerprint=fingerprint, now=now)
    tampered_payload = payload.replace(b'"ai"', b'"zz"')
    tampered = armor(encode_envelope(ALGORITHM, kid, tampered_payload, signature))
    for refused, why in ((tampered, "a changed certificate"), (text, "an unknown key")):
        table = {kid: key.public_key()} if refused is tampered else compiled
        try:
            parse_certificate(refused, table)
        except CertificateError:
            continue
        raise RuntimeError(f"{why} was accepted")
    kids = ", ".join(sorted(compiled))
    return f"certificate verified; changed copy refused; trusted keys loaded ({kids})"


def _check_keyring() -> str:
    from importlib.metadata import entry_points

    names = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not names:
        raise RuntimeError("keyring finds no backends (its entry points are missing)")
    return "keyring backends found: " + ", ".join(names)


def _check_spelling(home: Path) -> str:
    from desktop.library.spelling import SpellDictionary

    dictionary = SpellDictionary("en", home / "personal.txt")
    return f"English dictionary loaded ({type(dictionary).__name__})"


def _check_document(library: Path) -> str:
    from desktop.library.document_file import DocumentFile

    text = "# Self-test\n\nÉcrire, lire — and the same text back.\n"
    document = DocumentFile(library / "Self-test.md")
    document.save(text)
    if DocumentFile(document.path).read() != text:
        raise RuntimeError("the document read back differs from what was written")
    return f"wrote and read back {document.path.name}"


def _check_window(library: Path) -> str:
    from desktop.ui.app import open_and_close_window

    return open_and_close_window(library)


def _isolate(home: Path) -> None:
    """Every user folder into ``home``: settings, data, cache and keyring stay untouched."""
    from desktop import paths
    from inference import model_cache

    # Only the bundled model in the installed app; the built one (read before the XDG
    # folders move) from source.
    models = model_cache.model_cache_root()
    if model_cache.installed_app():
        models = home / "no-model-cache"
    for name in ("config", "data", "state", "cache", "log"):
        folder = home / name
        folder.mkdir()
        setattr(paths, f"{name}_dir", lambda folder=folder: folder)
    for variable, name in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        os.environ[variable] = str(home / name)
    os.environ[model_cache.CACHE_ENV] = str(models)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    library = home / "documents" / paths.APP_NAME
    paths.default_library_dir = lambda: library


REPORT_NAME = "draftsmith-self-test.txt"


def _output() -> Callable[[str], None]:
    """Print; a windowed Windows app has no stdout, so there the report goes to
    ``%TEMP%\\draftsmith-self-test.txt`` instead."""
    if sys.stdout is not None:
        return print
    report = Path(tempfile.gettempdir()) / REPORT_NAME
    report.write_text("", encoding="utf-8")

    def write(line: str) -> None:
        with report.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    return write


def run_self_test(write: Callable[[str], None] | None = None) -> int:
    """Run every check, print one line each, and return 0 when all passed."""
    from inference.model_cache import installed_app

    write = write or _output()

    write(
        f"Draftsmith self-test ({'installed app' if installed_app() else 'from source'}, "
        f"Python {sys.version.split()[0]})"
    )
    failures = 0
    with tempfile.TemporaryDirectory(prefix="draftsmith-self-test-") as tmp:
        home = Path(tmp)
        _isolate(home)
        library = home / "library"
        library.mkdir()
        checks: list[tuple[str, Callable[[], str]]] = [
            ("AI model", _check_model),
            ("License check", _check_license),
            ("Keyring", _check_keyring),
            ("Spelling", lambda: _check_spelling(home)),
            ("Document", lambda: _check_document(library)),
            ("Main window", lambda: _check_window(library)),
        ]
        for title, check in checks:
            started = time.perf_counter()
            try:
                detail = check()
            except Exception as error:  # every failure is reported, then the next check runs
                failures += 1
                write(f"FAILED  {title}: {error}")
                continue
            write(f"ok      {title}: {detail} ({time.perf_counter() - started:.1f} s)")
    write("All checks passed." if not failures else f"{failures} check(s) failed.")
    return 0 if not failures else 1
