"""Label all occurrences and patterns from the app: Review menu actions, one undo step."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.project import Project
from core.types import DocumentRecord, EntitySpan, TaskKind
from tests.annotator.helpers import doc_id, entities

TEXTS = {
    "a": "Known asthma. Asthma worse at night.",
    "b": "No asthma today; metformin continued.",
    "c": "Metformin and asthma inhaler.",
}


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

    path = tmp_path / "p.db"
    with Project.create(path, tasks={TaskKind.NER: ["Disease", "Medication"]}) as p:
        p.documents.add([
            DocumentRecord(text=TEXTS["a"], external_id="a",
                           spans=(EntitySpan(6, 12, "Disease"),)),
            DocumentRecord(text=TEXTS["b"], external_id="b"),
            DocumentRecord(text=TEXTS["c"], external_id="c"),
        ])
    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if win.isVisible():
        win.close()


def _cursor_on(window, ext: str, at: int):  # type: ignore[no-untyped-def]
    window.doc_list.select_doc(doc_id(window.project, ext))
    view = window.views[TaskKind.NER]
    window.tabs.setCurrentWidget(view)
    view.editor.set_cursor_code_point(at)
    return view


def test_label_all_from_the_cursor_and_one_undo(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _cursor_on(window, "a", 8)
    window.act_label_all.trigger()
    p = window.project
    assert entities(p, doc_id(p, "a")) == [("asthma", "Disease"), ("Asthma", "Disease")]
    assert entities(p, doc_id(p, "b")) == [("asthma", "Disease")]
    assert entities(p, doc_id(p, "c")) == [("asthma", "Disease")]
    window.ctx.undo_stack.undo()
    assert entities(p, doc_id(p, "a")) == [("asthma", "Disease")]
    assert entities(p, doc_id(p, "b")) == [] and entities(p, doc_id(p, "c")) == []
    window.ctx.undo_stack.redo()
    assert entities(p, doc_id(p, "c")) == [("asthma", "Disease")]


def test_suggest_all_occurrences_then_undo_withdraws_them(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _cursor_on(window, "a", 8)
    window.act_suggest_all.trigger()
    pending = window.project.review.pending("ner")
    assert sum(len(v) for v in pending.values()) == 3
    assert {s.source for v in pending.values() for s in v} == {
        "patterns:label all Disease: asthma"}
    window.ctx.undo_stack.undo()
    assert window.project.review.pending("ner") == {}
    window.ctx.undo_stack.redo()
    assert sum(len(v) for v in window.project.review.pending("ner").values()) == 3


def test_no_entity_at_the_cursor_says_so(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _cursor_on(window, "b", 20)
    window.act_label_all.trigger()
    assert "no entity at the cursor" in window.statusBar().currentMessage()
    assert window.ctx.undo_stack.count() == 0


def test_a_term_list_and_my_labels_become_suggestions(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    terms = tmp_path / "drugs.txt"
    terms.write_text("metformin\n", encoding="utf-8")
    task = window.apply_patterns_file(str(terms), "Medication")
    qtbot.waitUntil(lambda: not task.is_running() and "suggestion" in
                    window.statusBar().currentMessage(), timeout=10000)
    pending = window.project.review.pending("ner")
    got = {(d, s.start, s.end, s.label, s.source) for d, v in pending.items() for s in v}
    p = window.project
    assert got == {(doc_id(p, "b"), 17, 26, "Medication", "patterns:drugs.txt"),
                   (doc_id(p, "c"), 0, 9, "Medication", "patterns:drugs.txt")}
    task = window.suggest_from_labels()
    qtbot.waitUntil(lambda: not task.is_running() and "my labels" in
                    window.statusBar().currentMessage(), timeout=10000)
    sources = {s.source for v in window.project.review.pending("ner").values() for s in v}
    assert "patterns:my labels" in sources


def test_a_pattern_suggestion_says_where_it_came_from(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    terms = tmp_path / "drugs.txt"
    terms.write_text("metformin\n", encoding="utf-8")
    task = window.apply_patterns_file(str(terms), "Medication")
    qtbot.waitUntil(lambda: not task.is_running() and "suggestion" in
                    window.statusBar().currentMessage(), timeout=10000)
    view = _cursor_on(window, "b", 20)  # inside "metformin"
    drawn = [sp for sp in view.editor._spans if sp.suggestion]
    assert [sp.tooltip for sp in drawn] == ["suggested Medication by drugs.txt: 'metformin'"]
    assert "by drugs.txt" in view.info.text()
    (suggestion,) = view.doc.suggestions
    assert suggestion.by_rule and suggestion.source == "patterns:drugs.txt"
