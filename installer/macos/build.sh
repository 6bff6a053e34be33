#!/usr/bin/env bash
# Build Draftsmith.app and a .dmg on macOS (run from anywhere; `make dist-macos` runs it).
#
# Needs: macOS 12+, Xcode command line tools (iconutil, codesign, hdiutil, xcrun), Python 3.11+
# with the project installed (`make setup` or: python3 -m venv .venv && .venv/bin/pip install
# '.[dev]'), and a built default model (`make model`, or DRAFTSMITH_BUNDLE_MODEL=<folder> with a
# model folder built on another machine: models are platform-independent ONNX).
#
# Switched by environment variables (unset: an unsigned build for testing on this Mac):
#   DRAFTSMITH_CODESIGN_IDENTITY  "Developer ID Application: Name (TEAMID)" -> codesign app + dmg
#   DRAFTSMITH_NOTARY_PROFILE     a notarytool keychain profile (xcrun notarytool
#                                 store-credentials) -> notarize and staple the dmg
#   DRAFTSMITH_TEST_BUILD=1       allow the development license key (never for a release)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
export PYTHONPATH="$PWD"
VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
APP="dist/Draftsmith.app"
DMG="dist/Draftsmith-$VERSION-macos-$(uname -m).dmg"

"$PY" installer/release_check.py ${DRAFTSMITH_TEST_BUILD:+--test-build}

echo "== icons"
"$PY" installer/render_icons.py build/icons >/dev/null
ICONSET="build/icons/draftsmith.iconset"
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
    cp "build/icons/draftsmith-$size.png" "$ICONSET/icon_${size}x${size}.png"
    cp "build/icons/draftsmith-$((size * 2)).png" "$ICONSET/icon_${size}x${size}@2x.png"
done
iconutil -c icns "$ICONSET" -o build/icons/draftsmith.icns

echo "== app bundle"
"$PY" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller installer/draftsmith.spec

if [ -n "${DRAFTSMITH_CODESIGN_IDENTITY:-}" ]; then
    echo "== codesign"
    # Inside out: every library, then the app, with the hardened runtime and a timestamp.
    find "$APP/Contents" -type f \( -name '*.so' -o -name '*.dylib' \) -print0 |
        xargs -0 codesign --force --timestamp --options runtime \
            --sign "$DRAFTSMITH_CODESIGN_IDENTITY"
    codesign --force --timestamp --options runtime \
        --entitlements installer/macos/entitlements.plist \
        --sign "$DRAFTSMITH_CODESIGN_IDENTITY" "$APP"
    codesign --verify --strict --deep --verbose=2 "$APP"
fi

echo "== self-test of the built app"
"$APP/Contents/MacOS/draftsmith" --self-test

echo "== dmg"
STAGE="build/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Draftsmith $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
if [ -n "${DRAFTSMITH_CODESIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$DRAFTSMITH_CODESIGN_IDENTITY" "$DMG"
fi
if [ -n "${DRAFTSMITH_NOTARY_PROFILE:-}" ]; then
    [ -n "${DRAFTSMITH_CODESIGN_IDENTITY:-}" ] || { echo "Notarizing needs DRAFTSMITH_CODESIGN_IDENTITY." >&2; exit 2; }
    echo "== notarize"
    xcrun notarytool submit "$DMG" --keychain-profile "$DRAFTSMITH_NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
fi

echo "== scan"
"$PY" installer/scan_artefacts.py "$APP"
ls -lh "$DMG"
