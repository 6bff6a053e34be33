"""Linux artefacts from the PyInstaller folder (``dist/draftsmith``): a ``.deb`` and a portable
``.tar.gz``.

    python installer/linux/package.py dist/draftsmith dist

The ``.deb`` installs the app to ``/opt/draftsmith``, links ``/usr/bin/draftsmith``, adds the
menu entry and hicolor icons, and depends only on the system libraries the bundle links to but
does not carry (found with ``ldd`` and mapped to packages with ``dpkg -S``). Removing it
removes only those files: the writer's documents and settings live in their home folder and
are never touched. The ``.tar.gz`` runs from wherever it is unpacked."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.resources import desktop_entry, icon  # noqa: E402
from installer.bundle_model import bundled_model, model_notice  # noqa: E402
from installer.render_icons import render  # noqa: E402

PACKAGE = "draftsmith"
INSTALL_DIR = Path("opt") / PACKAGE
MAINTAINER = "Draftsmith <support@draftsmith.app>"
# dpkg-deb compression: xz (smallest download, every Debian/Ubuntu) for releases; test builds
# may pass e.g. DRAFTSMITH_DEB_COMPRESSION=gzip:1 to save minutes.
COMPRESSION_ENV = "DRAFTSMITH_DEB_COMPRESSION"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Libraries every Debian system has (libc6 is added with a version below).
ESSENTIAL_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
# Not libraries but read at run time: the bundled fontconfig reads /etc/fonts, and Qt draws no
# text without at least one font.
DATA_PACKAGES = ["fontconfig-config", "fonts-dejavu-core | fonts-noto-core | fonts-liberation2"]
DESCRIPTION = """A calm writing app whose AI runs on your own machine
 Draftsmith is a Markdown writing app with a local AI model for continuing,
 rewriting and summarising text. The model is included and runs offline."""

POSTINST = """#!/bin/sh
set -e
# Refresh the menu and icon caches when the tools exist; nothing else.
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "${DPKG_ROOT:-}/usr/share/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "${DPKG_ROOT:-}/usr/share/icons/hicolor" || true
fi
"""
# Removal and purge touch nothing outside the package's own files: the writer's documents,
# settings, model cache and license live in their home folder and stay.
POSTRM = POSTINST


def version() -> str:
    """The one version: pyproject.toml's."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]


def architecture() -> str:
    out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    return out.stdout.strip() or "amd64"


def _elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def _needed(elf: Path) -> list[str]:
    """The libraries ``elf`` names itself (DT_NEEDED), not what those pull in."""
    out = subprocess.run(["objdump", "-p", str(elf)], capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED")]


def _outside_libraries(bundle: Path) -> set[str]:
    """System paths of the libraries the bundle's binaries link to directly and do not carry.

    Only direct links: the Debian packages of those libraries bring their own dependencies."""
    elves = _elf_files(bundle)
    carried = {path.name for path in bundle.rglob("*")}
    found: set[str] = set()
    for elf in elves:
        wanted = {name for name in _needed(elf) if name not in carried}
        if not wanted:
            continue
        result = subprocess.run(["ldd", str(elf)], capture_output=True, text=True)
        for line in result.stdout.splitlines():
            match = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line)
            if match and match.group(1) in wanted:
                found.add(match.group(2))
    return found


def system_dependencies(bundle: Path) -> list[str]:
    """Debian packages providing the libraries the bundle links to and does not carry."""
    packages: set[str] = set()
    for library in sorted(_outside_libraries(bundle)):
        candidates = [library, str(Path(library).resolve())]
        if library.startswith("/lib/"):
            candidates.append("/usr" + library)
        for candidate in candidates:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if result.returncode == 0:
                packages.add(result.stdout.split(":", 1)[0].strip())
                break
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or "glibc 2.36"
    return [
        f"libc6 (>= {glibc.split()[-1]})",
        *sorted(packages - ESSENTIAL_PACKAGES),
        *DATA_PACKAGES,
    ]


def _copy_bundle(bundle: Path, target: Path) -> None:
    shutil.copytree(bundle, target, symlinks=True)


def _installed_size_kib(root: Path) -> int:
    total = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    return (total + 1023) // 1024


def install_menu_entry(share: Path, work: Path) -> None:
    """The menu entry and its hicolor icons under ``share`` (``/usr/share`` of the package)."""
    applications = share / "applications"
    applications.mkdir(parents=True)
    shutil.copyfile(desktop_entry(), applications / f"{PACKAGE}.desktop")
    render(work / "icons")
    hicolor = share / "icons" / "hicolor"
    for size in ICON_SIZES:
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copyfile(work / "icons" / f"draftsmith-{size}.png", folder / f"{PACKAGE}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copyfile(icon(), hicolor / "scalable" / "apps" / f"{PACKAGE}.svg")


def model_line(bundle: Path) -> str:
    """Which model this bundle carries and under which license (make dist-linux MODEL=DIR
    may have chosen another than the default)."""
    folder = bundled_model(bundle)
    return model_notice(folder) if folder is not None else "No model is bundled."


def build_deb(bundle: Path, out: Path, work: Path) -> Path:
    root = work / "deb-root"
    if root.exists():
        shutil.rmtree(root)
    _copy_bundle(bundle, root / INSTALL_DIR)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / PACKAGE).symlink_to(Path("..", "..", INSTALL_DIR, PACKAGE))
    install_menu_entry(root / "usr" / "share", work)
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Draftsmith - proprietary software, (c) the Draftsmith authors.\n"
        f"{model_line(bundle)} Bundled libraries keep their "
        "own licenses (Qt/PySide6: LGPLv3; onnxruntime: MIT).\n",
        encoding="utf-8",
    )
    debian = root / "DEBIAN"
    debian.mkdir()
    control = {
        "Package": PACKAGE,
        "Version": version(),
        "Architecture": architecture(),
        "Maintainer": MAINTAINER,
        "Installed-Size": str(_installed_size_kib(root)),
        "Depends": ", ".join(system_dependencies(bundle)),
        "Section": "editors",
        "Priority": "optional",
        "Homepage": "https://draftsmith.app",
        "Description": DESCRIPTION,
    }
    (debian / "control").write_text(
        "".join(f"{key}: {value}\n" for key, value in control.items()), encoding="utf-8"
    )
    for name, text in (("postinst", POSTINST), ("postrm", POSTRM)):
        (debian / name).write_text(text, encoding="utf-8")
        (debian / name).chmod(0o755)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{PACKAGE}_{version()}_{architecture()}.deb"
    kind, _, level = os.environ.get(COMPRESSION_ENV, "xz:6").partition(":")
    command = ["dpkg-deb", "--root-owner-group", f"-Z{kind}", f"-z{level or 6}"]
    subprocess.run(
        [*command, "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


PORTABLE_README = """Draftsmith {version} (portable)

Run it:            ./draftsmith            (or double-click "draftsmith")
Menu entry:        ./install-menu-entry.sh (adds Draftsmith to your applications menu)
Check this copy:   ./draftsmith --self-test

{model}

Your documents and settings are kept in your home folder, not here: deleting this folder
removes the app only.
"""

MENU_SCRIPT = """#!/bin/sh
# Adds Draftsmith (this folder) to the applications menu of the current user.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$here/draftsmith.svg" "$icons/draftsmith.svg"
sed "s|^Exec=draftsmith|Exec=\\"$here/draftsmith\\"|" "$here/draftsmith.desktop" \\
    > "$apps/draftsmith.desktop"
echo "Draftsmith is in your applications menu."
"""


def build_tarball(bundle: Path, out: Path) -> Path:
    name = f"{PACKAGE}-{version()}-linux-{os.uname().machine}"
    tarball = out / f"{name}.tar.gz"
    out.mkdir(parents=True, exist_ok=True)

    def add_text(archive: tarfile.TarFile, arcname: str, text: str, mode: int) -> None:
        import io

        data = text.encode("utf-8")
        info = tarfile.TarInfo(f"{name}/{arcname}")
        info.size, info.mode = len(data), mode
        archive.addfile(info, io.BytesIO(data))

    def owner_free(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(tarball, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname=name, filter=owner_free)
        archive.add(desktop_entry(), arcname=f"{name}/draftsmith.desktop", filter=owner_free)
        archive.add(icon(), arcname=f"{name}/draftsmith.svg", filter=owner_free)
        add_text(
            archive,
            "README.txt",
            PORTABLE_README.format(version=version(), model=model_line(bundle)),
            0o644,
        )
        add_text(archive, "install-menu-entry.sh", MENU_SCRIPT, 0o755)
    return tarball


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Linux .deb and .tar.gz.")
    parser.add_argument("bundle", type=Path, help="the PyInstaller folder (dist/draftsmith)")
    parser.add_argument("out", type=Path, help="where the artefacts go")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "linux")
    parser.add_argument("--only", choices=("deb", "tar"), default=None)
    args = parser.parse_args(argv)
    if not (args.bundle / PACKAGE).is_file():
        print(f"{args.bundle} is not a Draftsmith bundle (no {PACKAGE} inside).", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "deb"):
        print(build_deb(args.bundle, args.out, args.work))
    if args.only in (None, "tar"):
        print(build_tarball(args.bundle, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
