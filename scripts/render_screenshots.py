"""Render each view of the app to PNG under docs/screenshots/ (headless, or from the real
window on an X server).

Builds a copy of the demo project, trains its tasks with the real engine on the CPU (the
bundled default encoder, 3 epochs: a minute or two) and pre-annotates the unlabelled notes
with each new model version, so the training panel, the model versions and the review
pictures show real numbers and real suggestions. Then grabs the main window in each state.

    QT_QPA_PLATFORM=offscreen python scripts/render_screenshots.py [--theme light|dark|both]
        [--reuse DIR]
    DISPLAY=:99 python scripts/render_screenshots.py --real-window ...

``--real-window`` shows the window on the X server of ``DISPLAY`` (Qt's xcb platform; a window
manager such as openbox running there) and takes each picture from the screen's pixels, as
the user sees them, instead of rendering the widgets offscreen.

``--reuse DIR`` keeps the trained project in DIR and trains only when DIR has none yet, so
a second theme costs no second training; ``--theme both`` does that for you.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REAL_WINDOW = "--real-window" in sys.argv
if REAL_WINDOW:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.project import Project
from core.types import TaskKind

OUT = REPO / "docs" / "screenshots"
PROJECT_FILE = "demo.db"


def train_and_preannotate(project: Project, kind: TaskKind, epochs: int | None = None) -> str:
    """Train ``kind`` (the default preset, as one click on Train does, CPU), record the run and,
    when it completed, pre-annotate with the new version; one line saying what happened."""
    from core.active.preannotate import preannotate
    from core.engine.project_bridge import train_project
    from core.engine.settings import preset_settings

    # What one click on Train does: the default preset (small data trains longer).
    settings = preset_settings("default", kind, device="cpu",
                               **({"epochs": epochs} if epochs else {}))
    outcome = train_project(project, kind, settings)
    result = outcome.result
    if result.status != "completed" or outcome.model_version_id is None:
        return f"{kind.value}: training {result.status}: {result.reason}"
    pre = preannotate(project, kind, model_version_id=outcome.model_version_id)
    metrics = result.dev_metrics
    score = metrics.get("f1", metrics.get("macro_f1"))
    return (
        f"{kind.value}: v{outcome.version}, dev score {score:.3f}, "
        f"{pre.suggestions} suggestion(s) on {pre.documents} document(s)"
    )


def prepare_project(folder: Path, epochs: int | None = None) -> Path:
    """The trained demo project in ``folder``: made and trained unless already there."""
    from annotator.app.demo import build_demo_project

    path = folder / PROJECT_FILE
    if path.exists():
        print(f"reusing the trained project {path}")
        return path
    folder.mkdir(parents=True, exist_ok=True)
    build_demo_project(path)
    project = Project.open(path)
    try:
        # Entities last: the training panel shows the newest run.
        for kind in (TaskKind.CLASSIFY, TaskKind.SENTENCE, TaskKind.QA, TaskKind.NER):
            print(train_and_preannotate(project, kind, epochs), flush=True)
    finally:
        project.close()
    return path


def render(path: Path, theme: str) -> None:

    from annotator.app.main import make_application
    from annotator.app.qt_main_window import QtMainWindow

    suffix = "_dark" if theme == "dark" else ""
    config = Path(tempfile.mkdtemp())
    os.environ["XDG_CONFIG_HOME"] = str(config)  # keep the user's QSettings untouched
    app = make_application(theme=theme)
    QtMainWindow.warm_up_delay_ms = None  # no engine imports needed for pictures
    project = Project.open(path)
    win = QtMainWindow(project)
    win.resize(1500, 900)
    win.show()
    app.processEvents()
    if REAL_WINDOW:
        from PySide6.QtTest import QTest

        QTest.qWaitForWindowExposed(win, 10000)
        QTest.qWait(500)
    OUT.mkdir(parents=True, exist_ok=True)

    def settle() -> None:
        for _ in range(3):
            app.processEvents()
        if REAL_WINDOW:
            from PySide6.QtTest import QTest

            QTest.qWait(400)  # the X server has painted

    def save(widget: object, name: str) -> None:
        settle()
        target = OUT / f"{name}{suffix}.png"
        if REAL_WINDOW:  # the screen's pixels where the widget is
            origin = widget.mapToGlobal(widget.rect().topLeft())  # type: ignore[attr-defined]
            size = widget.size()  # type: ignore[attr-defined]
            ratio = win.devicePixelRatio()
            picture = app.primaryScreen().grabWindow(
                0, int(origin.x() * ratio), int(origin.y() * ratio),
                int(size.width() * ratio), int(size.height() * ratio))
        else:
            picture = widget.grab()  # type: ignore[attr-defined]
        picture.save(str(target))
        print(target)

    def doc_ids() -> list[int]:
        model = win.doc_list.model
        return [d for r in range(model.rowCount()) if (d := model.doc_id(r)) is not None]

    ner = win.views[TaskKind.NER]
    win.doc_list.select_row(0)
    assert ner.doc is not None
    if "admitted" in ner.doc.text:
        ner.editor.set_cursor_code_point(ner.doc.text.index("admitted"))
    win.tabs.setCurrentWidget(ner)
    save(win, "entities")

    # Review: the most uncertain note that has entity suggestions, cursor on the first.
    win.doc_list.sort_box.setChecked(True)
    settle()
    for did in doc_ids():
        doc = project.documents.get(did)
        if doc is not None and doc.suggestions_of("entity"):
            win.doc_list.select_doc(did)
            first = min(doc.suggestions_of("entity"), key=lambda s: s.start)
            ner.editor.set_cursor_code_point(first.start + 1)
            break
    else:
        print("note: the NER model suggested no entity: review_suggestions shows none")
    save(win, "review_suggestions")
    win.tabs.setCurrentWidget(win.views[TaskKind.CLASSIFY])
    save(win, "classes")

    # Sentences: the most uncertain note with sentence suggestions (the list follows the
    # tab), its first two suggestions accepted with A (taken back after the picture, so the
    # reused project stays as trained; no time is recorded for them).
    sentences = win.views[TaskKind.SENTENCE]
    win.tabs.setCurrentWidget(sentences)
    settle()
    for did in doc_ids():
        doc = project.documents.get(did)
        if doc is not None and doc.suggestions_of("sentence"):
            win.doc_list.select_doc(did)
            break
    else:
        print("note: the sentence model suggested nothing: sentences shows no suggestion")
    win.ctx.record_time = lambda *_args: None  # type: ignore[method-assign]
    before = win.ctx.undo_stack.index()
    for _ in range(2):
        sentences.decide(True)
    save(win, "sentences")
    while win.ctx.undo_stack.index() > before:
        win.ctx.undo_stack.undo()
    win.doc_list.sort_box.setChecked(False)
    settle()

    qa = win.views[TaskKind.QA]
    docs = {did: project.documents.get(did) for did in doc_ids()}
    with_questions = next(d for d, doc in docs.items() if doc is not None and doc.questions)
    win.doc_list.select_doc(with_questions)
    win.tabs.setCurrentWidget(qa)
    save(win, "answers")
    suggested = next((d for d, doc in docs.items() if doc and doc.suggestions_of("answer")), None)
    if suggested is not None:
        win.doc_list.select_doc(suggested)
        save(win, "answers_suggestion")
    else:
        print(f"note: no answer suggestion (no QA model): answers_suggestion{suffix}.png "
              "not rendered")

    win.training.refresh_results()
    win.training.result_tabs.setCurrentIndex(0)
    save(win.training_dock, "training_panel")
    win.training.result_tabs.setCurrentIndex(2)
    save(win.training_dock, "training_versions")
    win.training.result_tabs.setCurrentIndex(0)
    win.tabs.setCurrentWidget(ner)
    win.doc_list.select_row(0)
    save(win, "main_window")
    win.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--theme", choices=("light", "dark", "both"), default="light",
                        help="colour scheme; dark shots are saved as NAME_dark.png")
    parser.add_argument("--real-window", action="store_true",
                        help="take the pictures from the real window on DISPLAY (xcb)")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="train N epochs (no small-data floor: quicker, weaker models)")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="keep the trained demo project in DIR (train only if missing)")
    args = parser.parse_args()
    folder = args.reuse or Path(tempfile.mkdtemp())
    if args.theme == "both":
        prepare_project(folder, args.epochs)
        for theme in ("light", "dark"):  # one QApplication, one theme, per process
            subprocess.run([sys.executable, __file__, "--theme", theme, "--reuse", str(folder),
                            *(["--real-window"] if args.real_window else [])], check=True)
        return 0
    render(prepare_project(folder, args.epochs), args.theme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
