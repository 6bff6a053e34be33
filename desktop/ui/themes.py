"""Light and dark themes (and following the system's choice): calm paper-like colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop import resources


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    paper: str
    text: str
    dim_text: str
    accent: str
    sidebar: str
    border: str
    heading: str
    quote: str
    code_bg: str
    marker: str
    current_line: str
    misspelled: str
    search_match: str = "#f4dd8c"  # every match of the find bar


LIGHT = Theme(
    "light",
    window="#f3f1ec",
    paper="#fbfaf7",
    text="#2d2a26",
    dim_text="#b9b4ab",
    accent="#3f7a8c",
    sidebar="#ece9e2",
    border="#dcd7cd",
    heading="#1f3b4d",
    quote="#6b6459",
    code_bg="#efebe3",
    marker="#a39b8d",
    current_line="#f3efe6",
    misspelled="#c0392b",
)
DARK = Theme(
    "dark",
    window="#1b1d20",
    paper="#212327",
    text="#dcd8cf",
    dim_text="#5b5f66",
    accent="#7fb3c4",
    sidebar="#1d1f23",
    border="#2e3137",
    heading="#9cc7d6",
    quote="#a39f96",
    code_bg="#2a2d32",
    marker="#6f747c",
    current_line="#26292e",
    search_match="#5c4f1f",
    misspelled="#e0796c",
)


def resolve(name: str) -> Theme:
    if name == "dark":
        return DARK
    if name == "light":
        return LIGHT
    hints = QGuiApplication.styleHints()
    return DARK if hints.colorScheme() == Qt.ColorScheme.Dark else LIGHT


def apply_theme(app: QApplication, theme: Theme) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, QColor(theme.window))
    palette.setColor(role.WindowText, QColor(theme.text))
    palette.setColor(role.Base, QColor(theme.paper))
    palette.setColor(role.AlternateBase, QColor(theme.sidebar))
    palette.setColor(role.Text, QColor(theme.text))
    palette.setColor(role.Button, QColor(theme.window))
    palette.setColor(role.ButtonText, QColor(theme.text))
    palette.setColor(role.Highlight, QColor(theme.accent))
    palette.setColor(role.HighlightedText, QColor(theme.paper))
    palette.setColor(role.ToolTipBase, QColor(theme.paper))
    palette.setColor(role.ToolTipText, QColor(theme.text))
    palette.setColor(role.PlaceholderText, QColor(theme.marker))
    palette.setColor(role.Link, QColor(theme.accent))
    for group_role in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, group_role, QColor(theme.dim_text))
    app.setPalette(palette)
    close_icon = resources.icon("tab-close.svg").as_posix()
    check_icon = resources.icon(f"check-{theme.name}.svg").as_posix()
    app.setStyleSheet(f"""
        QMainWindow::separator {{ width: 1px; background: {theme.border}; }}
        #Sidebar, #Sidebar QTreeWidget, #Sidebar QListWidget {{
            background: {theme.sidebar}; border: none; }}
        #Sidebar QTabBar::tab {{ padding: 6px 12px; border: none; background: transparent;
            color: {theme.marker}; }}
        #Sidebar QTabBar::tab:selected {{ color: {theme.text};
            border-bottom: 2px solid {theme.accent}; }}
        #Sidebar QTabWidget::pane {{ border: none; }}
        #Sidebar QLineEdit {{ border: 1px solid {theme.border}; border-radius: 4px;
            padding: 4px 6px; background: {theme.paper}; margin: 6px; }}
        #DocumentTabs::pane {{ border: none; }}
        #DocumentTabs QTabBar::tab {{ padding: 6px 14px; border: none; background: transparent;
            color: {theme.marker}; }}
        #DocumentTabs QTabBar::tab:selected {{ color: {theme.text}; background: {theme.paper};
            border-top: 2px solid {theme.accent}; }}
        #DocumentTabs QTabBar::close-button {{ image: url({close_icon});
            subcontrol-position: right; border-radius: 3px; }}
        #DocumentTabs QTabBar::close-button:hover {{ background: {theme.border}; }}
        QStatusBar {{ color: {theme.marker}; border-top: 1px solid {theme.border}; }}
        QStatusBar QLabel {{ padding: 0 8px; }}
        QProgressBar#GoalBar {{ border: none; background: {theme.border}; border-radius: 2px;
            max-height: 4px; min-width: 90px; max-width: 90px; }}
        QProgressBar#GoalBar::chunk {{ background: {theme.accent}; border-radius: 2px; }}
        #FindBar {{ border-top: 1px solid {theme.border}; }}
        #CommandPalette {{ border: 1px solid {theme.border}; background: {theme.paper}; }}
        QCheckBox::indicator, QRadioButton::indicator {{ width: 12px; height: 12px;
            border: 1px solid {theme.marker}; background: {theme.paper}; }}
        QCheckBox::indicator {{ border-radius: 3px; }}
        QRadioButton::indicator {{ border-radius: 7px; }}
        QCheckBox::indicator:checked {{ background: {theme.accent}; border-color: {theme.accent};
            image: url({check_icon}); }}
        QRadioButton::indicator:checked {{ border-color: {theme.accent};
            background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
                stop: 0 {theme.accent}, stop: 0.5 {theme.accent}, stop: 0.6 {theme.paper},
                stop: 1 {theme.paper}); }}
        QCheckBox::indicator:hover, QRadioButton::indicator:hover {{
            border-color: {theme.accent}; }}
        QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{
            border-color: {theme.dim_text}; }}
        QCheckBox::indicator:checked:disabled {{ background: {theme.dim_text}; }}
        QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
    """)
