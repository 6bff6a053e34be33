"""Everything that imports PySide6: windows, dialogs, widgets and Qt workers."""
