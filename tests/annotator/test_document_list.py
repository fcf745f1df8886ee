"""The document list in a 1200 px window after an import: every column on screen, no
sideways scrolling on a click, the counts line whole."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from annotator.app.qt_documents import COLUMNS, fit_widths


def _import_notes(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "notes.jsonl"
    words = ["Patient", "reports", "chest", "pain", "and", "shortness", "of", "breath;",
             "hypertension", "stable"]
    lines = []
    for i in range(600):
        text = " ".join(words[(i + j) % len(words)] for j in range(30)) + f". Note {i}."
        record = {"id": f"note-{i:05d}", "text": text}
        if i % 3 == 0:
            record["label"] = [[0, len(words[i % len(words)]), "Disease"]]
        lines.append(json.dumps(record))
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda _p, _t, text, *a: shown.append(text)))
    window.import_file(str(source))
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    qtbot.waitUntil(lambda: "603 documents" in window.counts_label.text(), timeout=20000)


def test_columns_fit_a_1200_px_window_and_a_click_does_not_scroll_sideways(  # type: ignore[no-untyped-def]
        qtbot, window, tmp_path: Path, monkeypatch) -> None:
    window.resize(1200, 800)
    _import_notes(qtbot, window, tmp_path, monkeypatch)
    window.splitter.setSizes([300, 900])  # as narrow as the list goes (a user's drag)
    table = window.doc_list.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: table.verticalScrollBar().maximum() > 0)  # 603 rows: it scrolls
    assert window.doc_list.width() < window.doc_list.comfortable_width()
    assert table.horizontalScrollBar().maximum() == 0
    visible = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
    assert [COLUMNS[c] for c in visible] == ["id", "preview", "status", "labels", "score"]
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in visible)
    assert right <= table.viewport().width()
    status = COLUMNS.index("status")
    assert header.sectionSize(status) >= table.fontMetrics().horizontalAdvance("unlabelled")

    # A click on a row's labels cell (where the old list scrolled to) keeps the ids in view.
    row, labels = 4, COLUMNS.index("labels")
    cell = table.visualRect(window.doc_list.model.index(row, labels))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cell.center())
    qtbot.waitUntil(lambda: window.doc.id == window.doc_list.model.doc_id(row))
    qtbot.wait(QApplication.doubleClickInterval() + 200)  # Qt's delayed scroll after a click
    assert table.horizontalScrollBar().value() == 0
    id_cell = table.visualRect(window.doc_list.model.index(row, COLUMNS.index("id")))
    assert id_cell.left() >= 0 and id_cell.right() <= table.viewport().width()
    window.move(1)  # J: the next row, shown by scrollTo
    assert table.horizontalScrollBar().value() == 0

    # The counts line is whole: it wraps in the narrow list, and its tooltip lists all.
    counts = window.doc_list.counts
    text = counts.text()
    assert "labelled" in text and "unlabelled" in text
    needed = counts.fontMetrics().boundingRect(
        QRect(0, 0, counts.contentsRect().width(), 10_000), int(Qt.TextFlag.TextWordWrap), text)
    assert needed.width() <= counts.contentsRect().width()
    assert needed.height() <= counts.contentsRect().height()
    assert "labelled" in counts.toolTip()


def test_a_window_made_narrower_gives_the_list_room_for_its_columns(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_window_layout import MIN_DOCK_WIDTH, MIN_EDITOR_WIDTH

    window.resize(1500, 800)
    window.resizeDocks([window.training_dock], [460], Qt.Orientation.Horizontal)
    qtbot.wait(20)
    doc_list = window.doc_list
    qtbot.waitUntil(lambda: doc_list.width() >= doc_list.comfortable_width())
    window.resize(1200, 800)  # the central area alone shrinks, the list first
    # The dock gives the list what it can spare (1200 = list + editor + dock at their least).
    qtbot.waitUntil(lambda: window.training_dock.width() < 460, timeout=3000)
    assert window.tabs.width() >= MIN_EDITOR_WIDTH
    assert window.training_dock.width() >= MIN_DOCK_WIDTH
    assert doc_list.width() >= doc_list.comfortable_width() - 20
    header = doc_list.table.horizontalHeader()
    for name in ("id", "status", "score"):  # only the labels give a little
        width = doc_list.table.preferred_widths()[name]
        assert header.sectionSize(COLUMNS.index(name)) == width, name
    assert doc_list.table.horizontalScrollBar().maximum() == 0


def test_a_column_made_wider_in_a_wide_list_comes_back_in_a_wide_list(  # type: ignore[no-untyped-def]
        qtbot, window) -> None:
    """The saved widths are the preferred ones, not those a narrow window shrank to."""
    from annotator.app.qt_main_window import QtMainWindow

    table = window.doc_list.table
    labels = COLUMNS.index("labels")
    table.horizontalHeader().resizeSection(labels, 150)  # the user's drag
    window.splitter.setSizes([260, 900])  # then the list is made narrow
    qtbot.waitUntil(lambda: table.horizontalHeader().sectionSize(labels) < 150
                    and table.horizontalScrollBar().maximum() == 0)
    window.save_state()
    second = QtMainWindow(window.project)
    qtbot.addWidget(second)
    assert second.doc_list.table.horizontalHeader().sectionSize(labels) == 150


def test_fit_widths_shrinks_the_roomiest_columns_first() -> None:
    preferred, floors = {0: 72, 2: 80, 3: 110, 4: 76}, {0: 70, 2: 76, 3: 60, 4: 50}
    assert fit_widths(preferred, floors, 400, 36) == preferred  # room enough
    fitted = fit_widths(preferred, floors, 300, 36)
    assert sum(fitted.values()) <= 300
    assert fitted[0] >= 70 and fitted[2] >= 76  # id and status keep what they show
    assert fitted[3] < 110 and fitted[4] < 76
    # Below the floors: labels, then score give way; id and status keep their floors.
    tight = fit_widths(preferred, floors, 220, 36, give_order=[3, 4, 2, 0])
    assert tight == {0: 70, 2: 76, 3: 36, 4: 38}
    assert fit_widths(preferred, floors, 100, 36, give_order=[3, 4, 2, 0]) == {
        0: 36, 2: 36, 3: 36, 4: 36}  # the least, however narrow


def test_per_second_order_is_offered_with_the_uncertainty_order(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc_list = window.doc_list
    assert not doc_list.per_second_box.isEnabled()
    doc_list.per_second_box.setChecked(True)
    assert not doc_list.current_filter().per_second  # only beside "most uncertain first"
    doc_list.sort_box.setChecked(True)
    assert doc_list.per_second_box.isEnabled()
    flt = doc_list.current_filter()
    assert flt.sort_by_score and flt.per_second
    doc_list.per_second_box.setChecked(False)
    assert not doc_list.current_filter().per_second
