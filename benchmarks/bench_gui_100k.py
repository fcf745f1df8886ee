"""Open a 100,000-document project in the main window and scroll the list to the end.

Prints JSON: build, open and scroll times (seconds) and peak memory (MB).
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_100k.py [--docs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny


def build(path: Path, n: int) -> None:
    import random

    from core.project import Project
    from core.store import repo
    from core.types import DocumentRecord, EntitySpan, TaskKind

    rng = random.Random(0)
    words = "patient reports chest pain fever cough stable discharged metformin insulin daily".split()
    project = Project.create(path, tasks={TaskKind.NER: ["Disease", "Medication"]})
    batch = []
    with project.write() as session:
        for i in range(n):
            text = f"Note {i}: " + " ".join(rng.choice(words) for _ in range(40))
            spans = (EntitySpan(0, 4, "Disease"),) if i % 10 == 0 else ()
            batch.append(DocumentRecord(text=text, spans=spans))
            if len(batch) == 5000:
                repo.add_documents(session, batch)
                batch = []
        repo.add_documents(session, batch)
    project.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="reuse (or create once) this project file")
    add_common_args(parser)
    args = parser.parse_args()
    tiny(args, docs=300)
    tmp = Path(tempfile.mkdtemp())
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    path = args.db or tmp / "big.db"
    t0 = time.perf_counter()
    if not path.exists():
        build(path, args.docs)
    build_s = time.perf_counter() - t0

    from PySide6.QtCore import QEventLoop, QTimer

    from annotator.app.main import make_application
    from annotator.app.qt_main_window import QtMainWindow
    from core.project import Project

    app = make_application()
    QtMainWindow.warm_up_delay_ms = None  # measure the list, not the engine's imports
    t0 = time.perf_counter()
    win = QtMainWindow(Project.open(path))
    counts_at: list[float] = []
    loop = QEventLoop()
    win.countsUpdated.connect(lambda _c: (counts_at.append(time.perf_counter() - t0), loop.quit()))
    win.resize(1500, 900)
    win.show()
    app.processEvents()
    open_s = time.perf_counter() - t0
    if not counts_at:  # the status counts arrive from a worker thread
        QTimer.singleShot(30_000, loop.quit)
        loop.exec()

    table = win.doc_list.table
    t0 = time.perf_counter()
    table.scrollToBottom()
    app.processEvents()
    win.doc_list.select_row(win.doc_list.model.rowCount() - 1)
    app.processEvents()
    scroll_end_s = time.perf_counter() - t0

    # Page through the whole list a screen at a time (what dragging the scroll bar does).
    bar = table.verticalScrollBar()
    t0 = time.perf_counter()
    steps, worst = 0, 0.0
    for value in range(0, bar.maximum(), max(1, bar.maximum() // 200)):
        s = time.perf_counter()
        bar.setValue(value)
        table.viewport().repaint()
        worst = max(worst, time.perf_counter() - s)
        steps += 1
    jump_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    win.doc_list.search.setText("insulin fever")
    win.doc_list._apply_filter()
    search_s = time.perf_counter() - t0
    emit({
        "documents": args.docs,
        "build_project_s": round(build_s, 2),
        "open_window_s": round(open_s, 3),
        "counts_shown_s": round(counts_at[0], 3) if counts_at else None,
        "scroll_to_end_s": round(scroll_end_s, 3),
        "scrollbar_jumps": steps,
        "scrollbar_jump_worst_s": round(worst, 4),
        "scrollbar_jumps_total_s": round(jump_s, 3),
        "search_like_s": round(search_s, 3),
        "search_hits": win.doc_list.model.rowCount(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, args.out, indent=2)
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
