"""One long note in the entities view: show it, scroll through it, label at its end.

A synthetic 50,000-character clinical-style note with ~1,500 entities and ~300 pending
suggestions is stored in a temporary project and opened in the main window. Measured
(milliseconds, each step ends with a synchronous repaint of the text viewport):

- ``open_document``: going to the note from a short one, as a click in the document list
  does (load from the store, set the text and spans, paint), and those two parts alone;
- ``scroll``: 100 scroll-bar steps from top to bottom, each with events processed;
- ``cursor_move``: moving the cursor (the view marks the span under it);
- ``add_entity``: labelling the last words of the note with a label key (store write,
  reload of the document, span repaint), with the reload's share, and the span repaint
  alone.

``--layout lines`` (default) writes the note as short paragraphs, one per line;
``--layout block`` as one paragraph of 50,000 characters (one text block), the worst case
for a view that draws only the spans of the visible blocks. Prints one JSON object.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_long_note.py [--layout block]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

LABELS = ("Disease", "Medication", "Dosage", "Procedure")
DISEASES = ("chronic kidney disease", "type 2 diabetes", "atrial fibrillation", "asthma",
            "community-acquired pneumonia", "heart failure", "hypertension", "COPD")
DRUGS = ("furosemide", "metformin", "apixaban", "salbutamol", "amoxicillin", "bisoprolol",
         "ramipril", "insulin glargine")
DOSES = ("40 mg in the morning", "500 mg twice daily", "5 mg twice daily", "2 puffs as needed",
         "1 g three times daily", "2.5 mg once daily", "10 units at night")
PROCEDURES = ("CT head", "chest X-ray", "echocardiogram", "colonoscopy", "ECG",
              "renal ultrasound")
WHEN = ("tomorrow", "in six weeks", "before discharge", "if symptoms recur")


def make_note(chars: int, n_entities: int, n_suggestions: int, *, layout: str,
              seed: int = 0) -> tuple[str, list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """The note's text, its entities and its suggestions ((start, end, label), code points).

    Candidate mentions never overlap; the first ``n_entities`` of a shuffled sample become
    entities and the next ``n_suggestions`` suggestions. The last sentence stays unlabelled
    (the benchmark labels it)."""
    rng = random.Random(seed)
    parts: list[str] = []
    mentions: list[tuple[int, int, str]] = []
    pos = 0
    sep = "\n" if layout == "lines" else " "

    def add(text: str, label: str | None = None) -> None:
        nonlocal pos
        if label is not None:
            mentions.append((pos, pos + len(text), label))
        parts.append(text)
        pos += len(text)

    day = 0
    tail = "Plan: review the renal ultrasound results in clinic."
    while pos < chars - len(tail) - 200:
        day += 1
        add(f"Day {day}. Patient known to have ")
        add(rng.choice(DISEASES), "Disease")
        add(" and ")
        add(rng.choice(DISEASES), "Disease")
        add(". Started on ")
        add(rng.choice(DRUGS), "Medication")
        add(" ")
        add(rng.choice(DOSES), "Dosage")
        add(". A ")
        add(rng.choice(PROCEDURES), "Procedure")
        add(" was performed; ")
        add(rng.choice(DRUGS), "Medication")
        add(" ")
        add(rng.choice(DOSES), "Dosage")
        add(" continued. Repeat ")
        add(rng.choice(PROCEDURES), "Procedure")
        add(" " + rng.choice(WHEN) + "." + sep)
    add(tail)
    text = "".join(parts)
    picked = rng.sample(mentions, min(len(mentions), n_entities + n_suggestions))
    return text, sorted(picked[:n_entities]), sorted(picked[n_entities:])


def build_project(path: Path, text: str, entities: list[tuple[int, int, str]],
                  suggestions: list[tuple[int, int, str]]) -> tuple[Any, int]:
    from sqlalchemy import select

    from core.project import Project
    from core.store import repo
    from core.store.models import Document, Suggestion, Task
    from core.types import DocumentRecord, EntitySpan, TaskKind

    project = Project.create(path, tasks={TaskKind.NER: list(LABELS)})
    rng = random.Random(1)
    with project.write() as session:
        repo.add_documents(session, [
            DocumentRecord(text=text, external_id="long-note",
                           spans=tuple(EntitySpan(s, e, label) for s, e, label in entities)),
            DocumentRecord(text="A short note: seen in clinic, no change.", external_id="short"),
        ])
        doc_id = session.scalar(select(Document.id).where(Document.external_id == "long-note"))
        task_id = session.scalar(select(Task.id).where(Task.kind == "ner"))
        assert doc_id is not None and task_id is not None
        for s, e, label in suggestions:
            session.add(Suggestion(document_id=doc_id, task_id=task_id, kind="entity",
                                   confidence=round(rng.uniform(0.3, 0.99), 3),
                                   payload={"start": s, "end": e, "label": label}))
    return project, doc_id


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary(values: list[float]) -> dict[str, float | int]:
    values = sorted(values)
    return {"steps": len(values), "median_ms": ms(statistics.median(values)),
            "p90_ms": ms(values[int(0.9 * (len(values) - 1))]), "max_ms": ms(values[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--entities", type=int, default=1500)
    parser.add_argument("--suggestions", type=int, default=300)
    parser.add_argument("--layout", choices=("lines", "block"), default="lines")
    parser.add_argument("--steps", type=int, default=100, help="scroll steps, top to bottom")
    add_common_args(parser)
    args = parser.parse_args()
    tiny(args, chars=3000, entities=60, suggestions=20, steps=5)
    tmp = Path(tempfile.mkdtemp())
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # keep the user's QSettings untouched

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    from annotator.app.main import make_application
    from annotator.app.qt_main_window import QtMainWindow
    from core.types import TaskKind

    text, entities, suggestions = make_note(args.chars, args.entities, args.suggestions,
                                            layout=args.layout)
    project, doc_id = build_project(tmp / "long.db", text, entities, suggestions)

    app = make_application(theme="light")
    QtMainWindow.warm_up_delay_ms = None  # no engine imports: only the view is measured
    win = QtMainWindow(project)
    win.resize(1500, 900)
    win.show()
    for _ in range(5):
        app.processEvents()
    view = win.views[TaskKind.NER]
    win.tabs.setCurrentWidget(view)
    editor = view.editor
    viewport = editor.viewport()

    def settle() -> None:
        QApplication.processEvents()
        viewport.repaint()  # paint now, synchronously, so the paint is in the measurement

    # Open: from the short note to the long one, as a click in the list does (load the
    # document from the store, set its text and spans, paint), then the parts alone.
    short_id = next(d for d in (1, 2) if d != doc_id)
    opened, loaded, shown = [], [], []
    for i in range(6):  # the first round warms caches and is not counted
        win.show_document(short_id)
        settle()
        t0 = time.perf_counter()
        win.show_document(doc_id)
        settle()
        t1 = time.perf_counter()
        doc = project.documents.get(doc_id)
        t2 = time.perf_counter()
        view.show_document(None)
        settle()
        t3 = time.perf_counter()
        view.show_document(doc)
        settle()
        t4 = time.perf_counter()
        if i:
            opened.append(t1 - t0)
            loaded.append(t2 - t1)
            shown.append(t4 - t3)

    # Scroll: top to bottom with the scroll bar in args.steps steps.
    bar = editor.verticalScrollBar()
    bar.setValue(0)
    settle()
    span = bar.maximum() - bar.minimum()
    scroll = []
    for i in range(1, args.steps + 1):
        t0 = time.perf_counter()
        bar.setValue(bar.minimum() + round(span * i / args.steps))
        settle()
        scroll.append(time.perf_counter() - t0)

    # Cursor moves (each redraws the spans to mark the one under the cursor).
    cursor_moves = []
    first, last = editor.visible_range()
    for cp in range(first, min(last, first + 400), 40):
        t0 = time.perf_counter()
        editor.set_cursor_code_point(cp)
        settle()
        cursor_moves.append(time.perf_counter() - t0)

    # Add an entity at the end, three times: select words of the last sentence, press the
    # label's key (store write, reload, span repaint); the reload's share is timed apart.
    key = next(lab.shortcut for lab in view.task.labels if lab.name == "Procedure")
    reload_s: list[float] = []

    load_document = project.documents.get

    def timed_load(*a: Any) -> Any:
        t = time.perf_counter()
        try:
            return load_document(*a)
        finally:
            reload_s.append(time.perf_counter() - t)

    def entity_count() -> int:
        return len(win.doc.entities) if win.doc is not None else 0

    before = entity_count()
    added, reloads = [], []
    for words in ("renal ultrasound", "results", "clinic"):
        start = text.rindex(words)
        editor.select_code_points(start, start + len(words))
        settle()
        reload_s.clear()
        project.documents.get = timed_load  # type: ignore[method-assign]
        t0 = time.perf_counter()
        QApplication.sendEvent(editor, QKeyEvent(QKeyEvent.Type.KeyPress, ord(key.upper()),
                                                 Qt.KeyboardModifier.NoModifier, key))
        settle()
        added.append(time.perf_counter() - t0)
        project.documents.get = load_document  # type: ignore[method-assign]
        reloads.append(sum(reload_s))
    entities_added = entity_count() - before

    # The span repaint alone: the spans with and without the last entity, set and painted.
    spans = list(editor._spans)
    last = max(spans, key=lambda sp: sp.start)
    fewer = [sp for sp in spans if sp is not last]
    repaint = []
    for _ in range(5):
        editor.set_spans(fewer)
        settle()
        t0 = time.perf_counter()
        editor.set_spans(spans)
        settle()
        repaint.append(time.perf_counter() - t0)

    result = {
        "layout": args.layout,
        "chars": len(text),
        "blocks": editor.document().blockCount(),
        "entities": len(entities),
        "suggestions": len(suggestions),
        "open_document": summary(opened),
        "of_which_load_from_store": summary(loaded),
        "of_which_set_document_and_paint": summary(shown),
        "scroll": {**summary(scroll), "scroll_bar_max": bar.maximum()},
        "cursor_move": summary(cursor_moves),
        "add_entity_at_end": summary(added),
        "of_which_reload_from_store": summary(reloads),
        "entities_added": entities_added,
        "span_repaint_after_add": summary(repaint),
        "target_ms": 50,
    }
    emit(result, args.out, indent=2)
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
