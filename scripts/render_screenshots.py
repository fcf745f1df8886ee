"""Render each view of the app to PNG under docs/screenshots/ (headless).

Builds a temporary copy of the demo project, adds a fake finished training run, a model
version and model suggestions, then grabs the main window in each state.

    QT_QPA_PLATFORM=offscreen python scripts/render_screenshots.py [--theme dark]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from core.project import Project  # noqa: E402
from core.store.models import (  # noqa: E402
    Document,
    DocumentScore,
    ModelVersion,
    QuestionRow,
    Suggestion,
    Task,
    TrainingRun,
    utcnow,
)

OUT = REPO / "docs" / "screenshots"


def add_fake_model_output(project: Project) -> None:
    """A finished NER run, its model version, and suggestions on unlabelled notes."""
    epochs = []
    for e, (tl, vl, p, r) in enumerate([(1.42, 0.96, 0.41, 0.35), (0.71, 0.55, 0.68, 0.62),
                                        (0.38, 0.41, 0.81, 0.77), (0.22, 0.37, 0.86, 0.83)], 1):
        f1 = 2 * p * r / (p + r)
        epochs.append({"epoch": e, "step": e * 4, "train_loss": tl, "val_loss": vl, "precision": p,
                       "recall": r, "f1": f1, "accuracy": 0.9 + e * 0.02, "per_label": {
                           "Disease": {"precision": 0.84, "recall": 0.8, "f1": 0.82, "support": 9},
                           "Medication": {"precision": 0.92, "recall": 0.9, "f1": 0.91, "support": 6},
                           "Dosage": {"precision": 0.88, "recall": 0.86, "f1": 0.87, "support": 6},
                           "Procedure": {"precision": 0.75, "recall": 0.71, "f1": 0.73, "support": 5}}})
    with project.write() as s:
        ner = s.scalar(select(Task).where(Task.kind == "ner"))
        cls = s.scalar(select(Task).where(Task.kind == "classify"))
        qa = s.scalar(select(Task).where(Task.kind == "qa"))
        mv = ModelVersion(task_id=ner.id, version=1, base_model="default", path="ner-v1",
                          metrics={"f1": epochs[-1]["f1"], "accuracy": epochs[-1]["accuracy"]},
                          labels=["Disease", "Medication", "Dosage", "Procedure"], is_active=True)
        s.add(mv)
        s.flush()
        s.add(TrainingRun(task_id=ner.id, settings={"epochs": 4}, status="completed", epochs=epochs,
                          warnings=["only 16 labelled document(s): expect a weak model; label at least 20"],
                          finished_at=utcnow(), model_version_id=mv.id))
        docs = s.scalars(select(Document).order_by(Document.id)).all()
        for i, doc in enumerate(docs[16:], 16):
            text = doc.text
            for word, label, conf in (("Patient", None, 0), ):
                pass
            import re

            for m, label, conf in [
                (re.search(r"admitted with ([a-z0-9 -]+)\.", text), "Disease", 0.93),
                (re.search(r"controlled ([a-z0-9 -]+) despite", text), "Disease", 0.88),
                (re.search(r"Started on ([a-z ]+?) \d", text), "Medication", 0.71),
                (re.search(r"despite ([a-z ]+?) \d", text), "Medication", 0.64),
                (re.search(r"A ([A-Za-z -]+?) was performed", text), "Procedure", 0.52),
                (re.search(r"Please consider a ([A-Za-z -]+?)\.", text), "Procedure", 0.47),
            ]:
                if m:
                    s.add(Suggestion(document_id=doc.id, task_id=ner.id, model_version_id=mv.id,
                                     kind="entity", confidence=conf - (i % 5) * 0.03,
                                     payload={"start": m.start(1), "end": m.end(1), "label": label}))
            note_type = (doc.meta or {}).get("note_type", "progress")
            probs = {"discharge": 0.1, "referral": 0.1, "progress": 0.1}
            probs[note_type] = 0.8
            s.add(Suggestion(document_id=doc.id, task_id=cls.id, kind="class", confidence=0.8,
                             payload={"label": note_type, "probabilities": probs}))
            s.add(DocumentScore(document_id=doc.id, task_id=ner.id, strategy="least_confidence",
                                model_version_id=mv.id, score=round(0.2 + (i * 37 % 60) / 100, 3)))
        for q in s.scalars(select(QuestionRow)).all():
            if not q.answers and not q.is_impossible:
                text = q.document.text
                m = re.search(r"\d+ (mg|micrograms)[a-z ]*", text)
                if m:
                    s.add(Suggestion(document_id=q.document_id, task_id=qa.id, question_id=q.id,
                                     kind="answer", confidence=0.66,
                                     payload={"start": m.start(), "end": m.end(), "text": m.group()}))


def main() -> int:
    import argparse

    from annotator.app.demo import build_demo_project
    from annotator.app.main import make_application
    from annotator.app.qt_main_window import QtMainWindow
    from core.types import TaskKind

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--theme", choices=("light", "dark"), default="light",
                        help="force a colour scheme; dark shots are saved as NAME_dark.png")
    args = parser.parse_args()
    suffix = "_dark" if args.theme == "dark" else ""
    tmp = Path(tempfile.mkdtemp())
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # keep the user's QSettings untouched
    app = make_application(theme=args.theme)
    QtMainWindow.warm_up_delay_ms = None  # no engine imports needed for pictures
    path = build_demo_project(tmp / "demo.db")
    project = Project.open(path)
    add_fake_model_output(project)
    win = QtMainWindow(project)
    win.resize(1500, 900)
    win.show()
    app.processEvents()
    OUT.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        for _ in range(3):
            app.processEvents()
        win.grab().save(str(OUT / f"{name}{suffix}.png"))
        print(OUT / f"{name}{suffix}.png")

    ner = win.views[TaskKind.NER]
    win.doc_list.select_row(0)
    ner.editor.set_cursor_code_point(ner.doc.text.index("admitted") if "admitted" in ner.doc.text else 0)
    win.tabs.setCurrentWidget(ner)
    shot("entities")
    win.doc_list.sort_box.setChecked(True)
    win.doc_list.select_row(0)
    s = ner.doc.suggestions_of("entity")
    if s:
        ner.editor.set_cursor_code_point(s[0].start + 1)
    shot("review_suggestions")
    win.tabs.setCurrentWidget(win.views[TaskKind.CLASSIFY])
    shot("classes")
    win.doc_list.sort_box.setChecked(False)
    qa = win.views[TaskKind.QA]
    did = next(d for d in range(1, 40) if (doc := __import__("annotator.app.doc_data", fromlist=["x"]).load_document(project, d)) and doc.questions)
    win.doc_list.select_doc(did)
    win.tabs.setCurrentWidget(qa)
    shot("answers")
    # An open question with a suggested answer.
    from annotator.app.doc_data import load_document

    for d in range(1, 43):
        doc = load_document(project, d)
        if doc and doc.suggestions_of("answer"):
            win.doc_list.select_doc(d)
            break
    shot("answers_suggestion")
    win.training.refresh_results()
    win.training.result_tabs.setCurrentIndex(0)
    for _ in range(3):
        app.processEvents()
    win.training_dock.grab().save(str(OUT / f"training_panel{suffix}.png"))
    print(OUT / f"training_panel{suffix}.png")
    win.training.result_tabs.setCurrentIndex(2)
    for _ in range(3):
        app.processEvents()
    win.training_dock.grab().save(str(OUT / f"training_versions{suffix}.png"))
    print(OUT / f"training_versions{suffix}.png")
    win.tabs.setCurrentWidget(ner)
    shot("main_window")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
