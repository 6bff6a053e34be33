; Inno Setup 6 script: Draftsmith for Windows (x64), installed per user without admin rights.
;
; Built by installer\windows\build.ps1 (or `make dist-windows`), which passes:
;   /DAppVersion=<pyproject.toml version>   /DSourceDir=<dist\draftsmith>
;   /DSignTool=draftsmith /Sdraftsmith=...  only when DRAFTSMITH_SIGN_PFX is set (signing)
;
; What it installs: the PyInstaller folder to %LOCALAPPDATA%\Programs\Draftsmith ({autopf} for
; a per-user install), a Start-menu entry, optionally a desktop icon. The uninstaller removes
; exactly that folder and the shortcuts: documents (Documents\Draftsmith), settings and the
; license (%LOCALAPPDATA%\Draftsmith, the Windows credential store) are never touched.

#ifndef AppVersion
  #error Pass /DAppVersion=x.y.z (build.ps1 reads it from pyproject.toml).
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\draftsmith"
#endif
#define AppName "Draftsmith"
#define AppExe "draftsmith.exe"

[Setup]
; AppId identifies the app for upgrades and the uninstaller: never change it.
AppId={{8E0F6C9B-3F0A-4C55-9D0E-6B1F5A2C7D41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Draftsmith
AppPublisherURL=https://draftsmith.app
AppSupportURL=https://draftsmith.app/support
VersionInfoVersion={#AppVersion}
; Per-user install: no UAC prompt; {autopf} is %LOCALAPPDATA%\Programs for such installs.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir=..\..\dist
OutputBaseFilename=Draftsmith-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\icons\draftsmith.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
#ifdef SignTool
SignTool={#SignTool}
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the install folder (files the app may have left there, e.g. Python caches). Nothing in
; Documents, %APPDATA% or %LOCALAPPDATA%\Draftsmith: the writer's work and settings stay.
Type: filesandordirs; Name: "{app}"
