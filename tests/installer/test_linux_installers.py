"""The Linux installers, end to end: build the app bundle, the .deb and the .tar.gz once, install
each into a temporary root, and run the installed app's ``--self-test`` with a clean
environment (no virtual environment on PATH) and no network. Slow (minutes): it runs
PyInstaller."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from installer.scan_artefacts import scan

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

pytestmark = [
    pytest.mark.installer,
    pytest.mark.default_model,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux installers"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)"),
    pytest.mark.timeout(1500),
]


@dataclass
class Artefacts:
    bundle: Path
    deb: Path
    tarball: Path
    deb_root: Path
    tar_root: Path


def _no_network() -> list[str]:
    """``unshare -n`` (a network namespace with no interfaces) when this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    warnings.warn(
        "unshare -n is not allowed on this machine (needs root or user namespaces): "
        "the installed app's self-test runs with the network reachable",
        stacklevel=2,
    )
    return []


def _clean_env(home: Path) -> dict[str, str]:
    """What a desktop session gives an app: no venv, no PYTHONPATH, no Qt or model overrides."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _self_test(executable: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_no_network(), str(executable), "--self-test"],
        env=_clean_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory, default_model_dir: Path) -> Artefacts:
    work = tmp_path_factory.mktemp("installers")
    env = {
        **os.environ,
        "DRAFTSMITH_TEST_BUILD": "1",  # the development license key is fine for a test build
        "DRAFTSMITH_BUNDLE_MODEL": str(default_model_dir),
        "DRAFTSMITH_DEB_COMPRESSION": "gzip:1",  # minutes faster than the release's xz
        "PYTHONPATH": str(REPO),
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "pyinstaller"), "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
         str(REPO / "installer" / "draftsmith.spec")],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    bundle = work / "dist" / "draftsmith"
    out = work / "out"
    subprocess.run(
        [sys.executable, str(REPO / "installer" / "linux" / "package.py"), str(bundle), str(out),
         "--work", str(work / "linux")],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    deb = out / f"draftsmith_{VERSION}_amd64.deb"
    (tarball,) = out.glob("draftsmith-*-linux-*.tar.gz")
    deb_root = work / "deb-root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(deb_root)], check=True)
    tar_root = work / "tar-root"
    with tarfile.open(tarball) as archive:
        archive.extractall(tar_root, filter="data")
    return Artefacts(bundle, deb, tarball, deb_root, tar_root)


def test_installed_deb_passes_its_self_test_offline(artefacts: Artefacts, tmp_path: Path) -> None:
    launcher = artefacts.deb_root / "usr" / "bin" / "draftsmith"
    assert launcher.is_symlink()
    assert launcher.resolve() == (artefacts.deb_root / "opt" / "draftsmith" / "draftsmith")
    result = _self_test(launcher, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installed app" in result.stdout
    assert "ok      AI model: bundled model" in result.stdout
    assert "All checks passed." in result.stdout
    assert not (tmp_path / "home" / ".config").exists()  # the self-test touched no settings


def test_portable_tarball_passes_its_self_test_offline(
    artefacts: Artefacts, tmp_path: Path
) -> None:
    (folder,) = artefacts.tar_root.iterdir()
    assert folder.name == f"draftsmith-{VERSION}-linux-{os.uname().machine}"
    result = _self_test(folder / "draftsmith", tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed." in result.stdout
    for name in ("draftsmith.desktop", "draftsmith.svg", "README.txt", "install-menu-entry.sh"):
        assert (folder / name).is_file()


def test_deb_has_menu_entry_icons_and_only_system_dependencies(artefacts: Artefacts) -> None:
    root = artefacts.deb_root
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(root / "usr/share/applications/draftsmith.desktop", encoding="utf-8")
    assert entry["Desktop Entry"]["Exec"].split()[0] == "draftsmith"
    assert entry["Desktop Entry"]["Terminal"] == "false"
    assert (root / "usr/share/icons/hicolor/scalable/apps/draftsmith.svg").is_file()
    for size in (16, 32, 48, 128, 256):
        png = root / f"usr/share/icons/hicolor/{size}x{size}/apps/draftsmith.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(artefacts.deb), "Package", "Version", "Depends"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"Version: {VERSION}" in fields
    depends = fields.split("Depends:", 1)[1]
    assert "libc6" in depends and "libgl1" in depends.replace("libgl1-mesa", "libgl1")
    for not_a_dependency in ("python", "tensorflow", "onnxruntime", "pyside", "qt6"):
        assert not_a_dependency not in depends.lower()


def test_bundled_model_is_only_the_checksummed_read_only_q4(artefacts: Artefacts) -> None:
    models = artefacts.deb_root / "opt/draftsmith/_internal/inference/bundled_models"
    (model,) = [p for p in models.iterdir() if p.is_dir()]
    manifest = json.loads((model / "draftsmith-model.json").read_text(encoding="utf-8"))
    assert list(manifest["variants"]) == ["q4"]
    assert sorted(manifest["files"]) == ["model.q4.onnx", "model.q4.onnx.data", "tokenizer.json"]
    assert sorted(p.name for p in model.iterdir()) == [
        "draftsmith-model.json", "model.q4.onnx", "model.q4.onnx.data", "tokenizer.json",
    ]  # fmt: skip
    for path in model.iterdir():
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_every_artefact_is_clean(artefacts: Artefacts) -> None:
    assert scan(artefacts.deb) == []
    assert scan(artefacts.tarball) == []


def test_damaged_model_is_reported_plainly_and_the_editor_still_works(
    artefacts: Artefacts, tmp_path: Path
) -> None:
    (folder,) = artefacts.tar_root.iterdir()
    copy = tmp_path / "draftsmith"
    shutil.copytree(folder, copy, symlinks=True)
    models = copy / "_internal/inference/bundled_models"
    (model,) = [p for p in models.iterdir() if p.is_dir()]
    onnx = model / "model.q4.onnx"
    onnx.chmod(0o644)
    with onnx.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\0" * 64)
    result = _self_test(copy / "draftsmith", tmp_path / "home")
    assert result.returncode == 1
    assert "FAILED  AI model: The model file model.q4.onnx" in result.stdout
    assert "is damaged" in result.stdout and "Reinstall Draftsmith" in result.stdout
    assert "ok      Main window" in result.stdout and "ok      Document" in result.stdout
    assert "TensorFlow" not in result.stdout + result.stderr
    assert "draftsmith-model" not in result.stdout + result.stderr


def test_install_then_purge_removes_the_app_and_keeps_the_writers_files(
    artefacts: Artefacts, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    for folder in ("info", "updates", "triggers"):
        (root / "var/lib/dpkg" / folder).mkdir(parents=True)
    (root / "var/lib/dpkg/status").touch()
    home = root / "home/writer"
    novel = home / "Documents/Draftsmith/novel.md"
    settings = home / ".config/Draftsmith/settings.json"
    for path, text in ((novel, "Chapter one.\n"), (settings, "{}\n")):
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-not-root"]
    env = {**_clean_env(home), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(
        [*dpkg, "--force-depends", "-i", str(artefacts.deb)], env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    assert (root / "opt/draftsmith/draftsmith").is_file()
    subprocess.run([*dpkg, "-P", "draftsmith"], env=env, check=True, capture_output=True)
    assert not (root / "opt/draftsmith").exists()
    assert not (root / "usr/share/applications/draftsmith.desktop").exists()
    assert novel.read_text(encoding="utf-8") == "Chapter one.\n"
    assert settings.read_text(encoding="utf-8") == "{}\n"
