"""Everything that imports PySide6: windows, dialogs, widgets and Qt workers."""

from desktop.ui import pyside_import_check

pyside_import_check.install()
