"""A screenshot of Draftsmith's Linux menu entry, as a desktop's application launcher shows it.

    xvfb-run -a -s "-screen 0 900x420x24" .venv/bin/python installer/linux/menu_screenshot.py \
        assets/screenshots/linux-menu-entry.png

It installs exactly what the ``.deb`` installs for the menu (``package.install_menu_entry``:
``draftsmith.desktop`` and the hicolor icons) into a temporary ``share`` folder, opens rofi's
application launcher (``drun``: it reads .desktop files the way desktop menus do) on it with
"draft" typed, and grabs the screen. Needs Debian's ``rofi`` and ``x11-apps`` (``xwd``) and
ImageMagick's ``convert``; none of them is needed to build or run Draftsmith."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package import install_menu_entry

LAUNCHER = ["rofi", "-show", "drun", "-filter", "draft", "-show-icons", "-icon-theme", "hicolor"]
THEME = (
    '* { background-color: #f4f1ea; text-color: #2b2b2b; font: "DejaVu Sans 13"; }'
    " window { width: 640px; border: 1px; border-color: #8a8170; padding: 12px; }"
    " element selected { background-color: #3f6f7f; text-color: #ffffff; }"
    " element-icon { size: 48px; } listview { lines: 3; }"
)


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as temp:
        share = Path(temp) / "share"
        install_menu_entry(share, Path(temp) / "work")
        # The system share folder too: the hicolor theme's index.theme lives there.
        data_dirs = f"{share}:/usr/share"
        env = dict(os.environ, XDG_DATA_DIRS=data_dirs, XDG_DATA_HOME=str(Path(temp) / "home"))
        launcher = subprocess.Popen(
            [*LAUNCHER, "-theme-str", THEME],
            env=env,
        )
        try:
            time.sleep(3)  # rofi reads the entries and paints
            shot = Path(temp) / "screen.xwd"
            subprocess.run(["xwd", "-root", "-silent", "-out", str(shot)], check=True)
            subprocess.run(["convert", str(shot), "-trim", "+repage", str(out)], check=True)
        finally:
            launcher.terminate()
            launcher.wait(timeout=10)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "linux-menu-entry.png"))
