"""The main window's sizes: restored from the settings, saved on close, and kept usable."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QResizeEvent

ORG, APP = "text-annotator", "annotator"
# Narrower than this, the text editor is no longer usable: restored sizes never go below.
MIN_EDITOR_WIDTH = 420
# The training dock's three Train buttons and two plots still fit at this width.
MIN_DOCK_WIDTH = 360


def app_settings() -> QSettings:
    return QSettings(ORG, APP)


class QtWindowLayout:
    """Mixin of :class:`QtMainWindow`: its splitter, dock and column sizes."""

    splitter: Any
    training_dock: Any
    doc_list: Any

    def _restore_state(self) -> None:
        s = app_settings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry() if self.screen() else None
            width, height = 1500, 900
            if screen is not None:  # a laptop screen: fit inside it
                width = min(width, int(screen.width() * 0.95))
                height = min(height, int(screen.height() * 0.92))
            self.resize(width, height)
            dock_width = min(460, max(MIN_DOCK_WIDTH, int(width * 0.3)))  # 1216 px: 364
            self.resizeDocks([self.training_dock], [dock_width], Qt.Orientation.Horizontal)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        sizes = s.value("window/splitter")
        if isinstance(sizes, QByteArray):
            self.splitter.restoreState(sizes)
        else:
            self._default_split_pending = True  # sized on first show, once the width is known
        header = s.value("window/documentColumns")
        if isinstance(header, QByteArray):
            self.doc_list.restore_header_state(header)

    def _default_split(self) -> None:
        total = sum(self.splitter.sizes())
        if total > 0:
            # The list gets ~45% of the central area: enough for id, a short preview,
            # status, labels and score without a horizontal scroll bar.
            left = max(self.doc_list.minimumWidth(), int(total * 0.45))
            self.splitter.setSizes([left, total - left])
            self._share_width()

    def _ensure_usable_layout(self) -> None:
        """Sizes restored from the settings (or squeezed in another project) never leave
        the text editor unusably narrow: the training dock gives back width first, then the
        document list."""
        central = sum(self.splitter.sizes())
        if central <= 0:
            return
        editor = self.splitter.sizes()[1]
        dock = self.training_dock
        want = max(MIN_EDITOR_WIDTH, int(0.35 * (central + (dock.width() if dock.isVisible() else 0))))
        if editor >= want:
            self._share_width()
            return
        if dock.isVisible() and not dock.isFloating():
            spare = dock.width() - max(dock.minimumSizeHint().width(), 320)
            if spare > 0:
                self.resizeDocks([dock], [dock.width() - min(spare, want - editor)],
                                 Qt.Orientation.Horizontal)
                central = sum(self.splitter.sizes())
        left = max(self.doc_list.minimumWidth(), central - want)
        self.splitter.setSizes([left, max(central - left, 0)])
        self._share_width()

    def _share_width(self) -> None:
        """After the window got narrower: a document list too narrow for its columns
        takes width from the text editor down to what it needs, then from the training
        dock (the window shrinks the central area alone, the list first)."""
        if not self.isVisible():
            return
        sizes = self.splitter.sizes()
        if len(sizes) != 2 or sizes[0] <= 0:
            return
        need = self.doc_list.comfortable_width() - sizes[0]
        if need <= 0:
            return
        dock = self.training_dock
        docked = dock.isVisible() and not dock.isFloating()
        total = sum(sizes) + (dock.width() if docked else 0)
        want = max(MIN_EDITOR_WIDTH, int(0.35 * total))
        from_editor = max(0, min(need, sizes[1] - want))
        from_dock = 0
        if docked:
            spare = dock.width() - max(dock.minimumSizeHint().width(), MIN_DOCK_WIDTH)
            from_dock = max(0, min(need - from_editor, spare))
        if from_editor + from_dock <= 0:
            return
        editor = sizes[1] - from_editor
        if from_dock:
            self.resizeDocks([dock], [dock.width() - from_dock], Qt.Orientation.Horizontal)
            self.layout().activate()  # the dock's width goes to the central area now
        central = sum(self.splitter.sizes())
        self.splitter.setSizes([central - editor, editor])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)  # type: ignore[misc]
        QTimer.singleShot(0, self._share_width)  # once the new sizes are laid out

    def save_state(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/documentColumns", self.doc_list.header_state())
