"""Light and dark theme, following the system's colour scheme (Qt 6.5+), or chosen by the
user (View › Theme, remembered in the settings)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_EXTRA = """
QLabel#hintLabel { color: palette(placeholder-text); }
QLabel#errorLabel { color: %(error)s; }
QLabel#warningLabel { color: %(warning)s; }
QLabel#countsLabel { color: palette(placeholder-text); }
"""
_LIGHT = {"error": "#D55E00", "warning": "#9A6700"}
_DARK = {"error": "#FF8A5B", "warning": "#F0C05A"}

# Status colours of the document list (Okabe-Ito), and lighter variants readable on a
# dark background.
STATUS_COLORS_LIGHT = {
    "unlabelled": "#757575",
    "labelled": "#0072B2",
    "suggested": "#B86E00",
    "reviewed": "#007A5A",
    "skipped": "#A8538A",
}
STATUS_COLORS_DARK = {
    "unlabelled": "#A0A0A0",
    "labelled": "#56B4E9",
    "suggested": "#F0B54A",
    "reviewed": "#3CCB9A",
    "skipped": "#E59ACB",
}

# Entity attributes with a value other than their default: the wavy underline under the span
# (light theme; on a dark one the span is opaque and the wave takes its black or white text
# colour) and the badge after it (light text on a dark tag in the light theme and the
# reverse in the dark one, so it reads the same over any label colour).
ATTRIBUTE_COLORS_LIGHT = {"mark": "#B0005A", "badge": "#3B3B3B", "badge_text": "#FFFFFF"}
ATTRIBUTE_COLORS_DARK = {"badge": "#ECECEC", "badge_text": "#1A1A1A"}


def attribute_colors(dark: bool | None = None) -> dict[str, str]:
    """The attribute mark's colours for a dark or light base (None: the current theme)."""
    if dark is None:
        dark = is_dark()
    return ATTRIBUTE_COLORS_DARK if dark else ATTRIBUTE_COLORS_LIGHT


# The user's choices in View › Theme; "system" (follow the desktop) is the default.
THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}

_forced: Qt.ColorScheme | None = None
_listening = False


def is_dark() -> bool:
    if _forced is not None:
        return _forced == Qt.ColorScheme.Dark
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme == Qt.ColorScheme.Unknown:  # no platform theme (offscreen): ask the palette
        app = QGuiApplication.instance()
        if app is not None:
            return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return scheme == Qt.ColorScheme.Dark


def status_colors() -> dict[str, str]:
    return STATUS_COLORS_DARK if is_dark() else STATUS_COLORS_LIGHT


def tint(color: str, alpha: float) -> str:
    """``color`` ("#RRGGBB") at opacity ``alpha`` as a style-sheet ``rgba()`` value.

    Not "#RRGGBBAA": Qt reads eight hex digits as #AARRGGBB, which turned a checked class
    button transparent, lime or crimson instead of a light tint of its colour."""
    c = QColor(color)
    return f"rgba({c.red()}, {c.green()}, {c.blue()}, {max(0.0, min(1.0, alpha)):.3f})"


def text_color_for(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    c = QColor(background)
    luminance = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return "#000000" if luminance > 140 else "#FFFFFF"


def dark_palette() -> QPalette:
    """Fusion's colours for a dark window (used when the platform gives none)."""
    p = QPalette()
    window, base, text = QColor("#2B2B2B"), QColor("#1E1E1E"), QColor("#E6E6E6")
    disabled = QColor("#7F7F7F")
    for role, color in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, QColor("#262626")),
        (QPalette.ColorRole.ToolTipBase, QColor("#3A3A3A")), (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, QColor("#353535")),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.BrightText, QColor("#FF6B6B")),
        (QPalette.ColorRole.Link, QColor("#56B4E9")), (QPalette.ColorRole.Highlight, QColor("#2F6FAD")),
        (QPalette.ColorRole.HighlightedText, QColor("#FFFFFF")),
        (QPalette.ColorRole.PlaceholderText, QColor("#9A9A9A")),
        (QPalette.ColorRole.Light, QColor("#454545")), (QPalette.ColorRole.Midlight, QColor("#3A3A3A")),
        (QPalette.ColorRole.Mid, QColor("#2F2F2F")), (QPalette.ColorRole.Dark, QColor("#1A1A1A")),
        (QPalette.ColorRole.Shadow, QColor("#000000")),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def _style_sheet() -> str:
    return _EXTRA % (_DARK if is_dark() else _LIGHT)


def current_theme() -> str:
    """"dark", "light" or "system": what :func:`apply_theme` was last asked for."""
    if _forced is None:
        return "system"
    return "dark" if _forced == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, scheme: str | None = None) -> None:
    """Fusion style with the system's light/dark scheme, re-applied when it changes;
    ``scheme`` "dark" or "light" forces one (screenshots, a user preference), "system" or
    None follows the desktop again."""
    global _forced, _listening
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()
    if scheme in ("dark", "light"):
        _forced = Qt.ColorScheme.Dark if scheme == "dark" else Qt.ColorScheme.Light
        try:
            hints.setColorScheme(_forced)  # Qt 6.8+
        except AttributeError:
            pass
        app.setPalette(app.style().standardPalette())
    elif _forced is not None:  # back to the system's scheme after a forced one
        _forced = None
        try:
            hints.unsetColorScheme()  # Qt 6.8+
        except AttributeError:
            pass
        app.setPalette(app.style().standardPalette())
    if is_dark() and QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() >= 128:
        app.setPalette(dark_palette())  # the platform had no dark palette
    app.setStyleSheet(_style_sheet())
    if not _listening:
        _listening = True
        try:
            hints.colorSchemeChanged.connect(lambda _scheme: app.setStyleSheet(_style_sheet()))
        except AttributeError:  # Qt < 6.5: stays light
            pass
