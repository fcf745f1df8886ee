"""The attribute bar of the entities view: the selected entity's attributes, one button each.

A button shows the attribute's key, its name and the entity's value ("[N] negation:
Affirmed", bold when it is not the default); a click or the key moves to the next value
(Shift+key: the previous one), its menu picks one. A pending model suggestion for the value
shows on a row of its own with its confidence and accept / reject buttons (so the buttons keep
their full text in a narrow view; the title gives way first). The bar only reports what
the user asked for (signals); the view makes the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.types import AttributeSpec


def attribute_keys(specs: Sequence[AttributeSpec], taken: Iterable[str]) -> dict[str, str]:
    """A key (one lower-case letter) per attribute name: the first letter of its name, else
    of its values, not in ``taken`` (label keys, review keys) nor given to an earlier one.
    An attribute left without a key is still set with the mouse."""
    used = {k.lower() for k in taken if k}
    keys: dict[str, str] = {}
    for spec in specs:
        for ch in spec.name.lower() + "".join(spec.values).lower() + "bcdefghilmnopqtvwxyz":
            if ch.isascii() and ch.isalpha() and ch not in used:
                keys[spec.name] = ch
                used.add(ch)
                break
    return keys


def badge_of(value: str) -> str:
    """A short tag for a value on the span: the initials of a value of several words
    ("Not particular" -> "NP"), else its first three letters ("Negated" -> "Neg")."""
    words = value.split()
    if len(words) > 1:
        return "".join(w[0] for w in words).upper()[:3]
    return value[:3]


class _ElidedLabel(QLabel):
    """A one-line plain-text label that ends in "…" when it has less room than its text."""

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.width())
        painter.drawText(self.rect(), int(self.alignment()), text)
        painter.end()


class QtAttributeBar(QWidget):
    """One button per attribute of the selected entity, with its pending suggestion."""

    cycleRequested = Signal(str, int)  # attribute name, step (+1 next value, -1 previous)
    valueChosen = Signal(str, str)  # attribute name, value
    suggestionDecided = Signal(int, bool)  # suggestion id, accept

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self._layout = QHBoxLayout()  # the title and one button per attribute
        self._pending = QVBoxLayout()  # a row per pending suggestion, when there are some
        outer.addLayout(self._layout)
        outer.addLayout(self._pending)
        self.title = _ElidedLabel()
        self.title.setObjectName("hintLabel")
        self.title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # The entity's name is the part that may be cut in a narrow view (the buttons are
        # of fixed size): below its text's width, down to this.
        self.title.setMinimumWidth(40)
        self.buttons: dict[str, QToolButton] = {}
        self.suggestion_buttons: dict[str, tuple[QToolButton, QToolButton]] = {}
        self._shown: tuple[object, ...] | None = None

    def _clear(self, layout: QBoxLayout | None = None) -> None:
        for box in (self._layout, self._pending) if layout is None else (layout,):
            while box.count():
                item = box.takeAt(0)
                widget = item.widget()
                if widget is not None and widget is not self.title:
                    widget.deleteLater()
                inner = item.layout()
                if isinstance(inner, QBoxLayout):
                    self._clear(inner)
                    inner.deleteLater()
        self.buttons = {}
        self.suggestion_buttons = {}

    def show_entity(
        self,
        specs: Sequence[AttributeSpec],
        keys: Mapping[str, str],
        values: Mapping[str, str] | None,
        suggestions: Mapping[str, tuple[int, str, float]] | None = None,
        *,
        what: str = "",
    ) -> None:
        """Show ``specs`` with the entity's ``values`` (None: no entity selected: only the
        keys); ``suggestions``: attribute name -> (suggestion id, value, confidence)."""
        suggestions = suggestions or {}
        shown = (tuple(specs), tuple(keys.items()),
                 None if values is None else tuple(values.items()),
                 tuple(suggestions.items()), what)
        if shown == self._shown:  # a cursor move inside the same entity: nothing to redo
            return
        self._shown = shown
        self._clear()
        if values is None:
            keys_text = " · ".join(
                f"{keys[s.name].upper()} {s.name}" if s.name in keys else s.name for s in specs
            )
            self.title.setText(f"Attributes ({keys_text}): put the cursor on an entity")
            self._layout.addWidget(self.title)
            self._layout.addStretch(1)
            return
        self.title.setText((f"{what}:" if what else "Attributes:")
                           + ("" if specs else " no attribute applies to its label"))
        self._layout.addWidget(self.title)
        for spec in specs:
            value = values.get(spec.name, spec.values[0])
            key = keys.get(spec.name)
            button = QToolButton()
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setText((f"[{key.upper()}] " if key else "") + f"{spec.name}: {value}")
            font = button.font()
            font.setBold(value != spec.values[0])
            button.setFont(font)
            button.setToolTip(
                f"{spec.name}: {' / '.join(spec.values)} (first: the default). Click"
                + (f" or press {key.upper()} (Shift+{key.upper()}: back)" if key else "")
                + " for the next value; the arrow picks one"
            )
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            menu = QMenu(button)
            for v in spec.values:
                act = menu.addAction(v)
                act.setCheckable(True)
                act.setChecked(v == value)
                act.triggered.connect(
                    lambda _=False, n=spec.name, v=v: self.valueChosen.emit(n, v)
                )
            button.setMenu(menu)
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, n=spec.name: self.cycleRequested.emit(n, 1))
            self._layout.addWidget(button)
            self.buttons[spec.name] = button
            pending = suggestions.get(spec.name)
            if pending is not None:
                sid, suggested, confidence = pending
                label = QLabel(f"Suggested {spec.name}: <b>{suggested}</b> "
                               f"({confidence:.0%} confident)"
                               + (", as it is now" if suggested == value else ""))
                accept = QToolButton(text="✓", toolTip=f"Accept {spec.name}: {suggested} (A)")
                reject = QToolButton(text="✗", toolTip="Reject the suggestion (R)")
                for b in (accept, reject):
                    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                accept.clicked.connect(lambda _=False, i=sid: self.suggestionDecided.emit(i, True))
                reject.clicked.connect(lambda _=False, i=sid: self.suggestionDecided.emit(i, False))
                row = QHBoxLayout()
                row.addWidget(label)
                row.addWidget(accept)
                row.addWidget(reject)
                row.addStretch(1)
                self._pending.addLayout(row)
                self.suggestion_buttons[spec.name] = (accept, reject)
        self._layout.addStretch(1)
