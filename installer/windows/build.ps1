# Build the Windows installer: dist\Draftsmith-<version>-windows-x64-setup.exe
#
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1 [-TestBuild]
#
# Needs: Windows 10/11 x64, Python 3.11+ (python.org), Inno Setup 6 (ISCC.exe), and for signing
# the Windows SDK's signtool.exe. A built default model: build it on this machine (.venv with
# '.[export]' and `draftsmith-model build`) or set DRAFTSMITH_BUNDLE_MODEL to a model folder
# built elsewhere (models are platform-independent ONNX).
#
# Signing is switched on by environment variables (unset: an unsigned test installer):
#   DRAFTSMITH_SIGN_PFX       path to the code-signing certificate (.pfx)
#   DRAFTSMITH_SIGN_PASSWORD  its password
#   DRAFTSMITH_TIMESTAMP_URL  RFC 3161 timestamp server (default http://timestamp.digicert.com)
param([switch]$TestBuild)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$env:PYTHONPATH = (Get-Location).Path
if ($TestBuild) { $env:DRAFTSMITH_TEST_BUILD = "1" }

if (-not (Test-Path .venv-win\Scripts\python.exe)) {
    py -3.11 -m venv .venv-win
    .venv-win\Scripts\python -m pip install --upgrade pip
    .venv-win\Scripts\python -m pip install ".[dev]"
}
$py = ".venv-win\Scripts\python.exe"
$version = & $py -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"

& $py installer\release_check.py
if ($LASTEXITCODE -ne 0) { throw "Release check failed (use -TestBuild for a test build)." }

& $py installer\render_icons.py build\icons | Out-Null
& $py -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller installer\draftsmith.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed." }

$iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
$isccArgs = @("/DAppVersion=$version", "/DSourceDir=$((Resolve-Path dist\draftsmith).Path)")
if ($env:DRAFTSMITH_SIGN_PFX) {
    $ts = if ($env:DRAFTSMITH_TIMESTAMP_URL) { $env:DRAFTSMITH_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
    $sign = "signtool.exe sign /fd sha256 /td sha256 /tr $ts /f `"$env:DRAFTSMITH_SIGN_PFX`" /p `"$env:DRAFTSMITH_SIGN_PASSWORD`""
    # The app itself first, then Inno signs the setup and the uninstaller with the same tool.
    & signtool.exe sign /fd sha256 /td sha256 /tr $ts /f $env:DRAFTSMITH_SIGN_PFX /p $env:DRAFTSMITH_SIGN_PASSWORD dist\draftsmith\draftsmith.exe
    if ($LASTEXITCODE -ne 0) { throw "Signing draftsmith.exe failed." }
    $isccArgs += @("/DSignTool=draftsmith", "/Sdraftsmith=$sign `$f")
}

# The windowed app has no console: the self-test writes %TEMP%\draftsmith-self-test.txt.
$test = Start-Process -FilePath dist\draftsmith\draftsmith.exe -ArgumentList "--self-test" -Wait -PassThru
Get-Content (Join-Path $env:TEMP "draftsmith-self-test.txt")
if ($test.ExitCode -ne 0) { throw "The built app failed its self-test." }

& $py installer\scan_artefacts.py dist\draftsmith
if ($LASTEXITCODE -ne 0) { throw "The artefact scan refused the build." }

& $iscc @isccArgs installer\windows\draftsmith.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed." }
Get-Item "dist\Draftsmith-$version-windows-x64-setup.exe" | Format-List Name, Length
