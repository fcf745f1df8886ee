"""Longest GUI event-loop stall while a training run and a pre-annotation run proceed.

A QTimer fires every 5 ms on the GUI thread and records how late it is. Uses the engine
tests' tiny random BERT (so no model download), a real TrainingJob through the training
panel, then the pre-annotation it starts. Prints JSON with p50/p99/max lateness (ms) for
the training phase (the targets), and separately for the startup phase (first paint and
the engine warm-up, before Train is pressed).
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_stall.py [--torch-threads N]
        [--no-warm-up] [--trace-stalls FILE]
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny


def tiny_bert(tmp: Path) -> Path:
    """The tests' tiny random BERT (tests/tiny_models.py); the benchmark once loaded the engine
    tests' conftest for it, which broke when that conftest moved its helpers out."""
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_models import build_tiny_bert

    return build_tiny_bert(tmp / "tiny-bert" / "model")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-warm-up", action="store_true",
                        help="import the engine on the first Train press (the old way)")
    parser.add_argument("--trace-stalls", metavar="FILE",
                        help="dump every thread's stack to FILE when the GUI thread is late "
                        "by more than 80 ms (faulthandler's watchdog needs no GIL)")
    add_common_args(parser)
    args = parser.parse_args()
    tiny(args, docs=24, epochs=1)
    trace = open(args.trace_stalls, "w", buffering=1) if args.trace_stalls else None
    import torch

    torch.set_num_threads(args.torch_threads)  # leave a core for the GUI thread
    tmp = Path(tempfile.mkdtemp())
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    model_dir = tiny_bert(tmp)

    from PySide6.QtCore import QEventLoop, QTimer

    from annotator.app.main import make_application
    from annotator.app.qt_main_window import QtMainWindow
    from core.project import Project
    from core.store import repo
    from core.types import DocumentRecord, EntitySpan, TaskKind

    drugs = ["zorblax", "quintarin", "melovate", "drapsil"]
    project = Project.create(tmp / "stall.db", tasks={TaskKind.NER: ["DRUG"]})
    docs = []
    for i in range(args.docs):
        drug = drugs[i % 4]
        text = f"the patient was given {drug} daily and reported no pain after dose in clinic {i}"
        s = text.index(drug)
        spans = (EntitySpan(s, s + len(drug), "DRUG"),) if i < args.docs // 2 else ()
        docs.append(DocumentRecord(text=text, spans=spans))
    with project.write() as session:
        repo.add_documents(session, docs)

    app = make_application()
    # As in the app: the engine's modules are imported on a worker shortly after the window
    # shows (0 ms here), not when Train is pressed. --no-warm-up measures the old way.
    QtMainWindow.warm_up_delay_ms = None if args.no_warm_up else 0
    win = QtMainWindow(project)
    win.resize(1500, 900)
    panel = win.training
    panel.settings[TaskKind.NER] = panel.settings_for(TaskKind.NER).replace(
        base_model=str(model_dir), epochs=args.epochs, batch_size=8, max_length=48, stride=8,
        device="cpu",
    )
    lateness: dict[str, list[float]] = {"startup": [], "training": []}
    worst: dict[str, list[tuple[float, float]]] = {"startup": [], "training": []}
    phase = ["startup"]
    expected = [time.perf_counter() + 0.005]
    t0 = time.perf_counter()

    def tick() -> None:
        now = time.perf_counter()
        late = max(0.0, now - expected[0]) * 1000
        lateness[phase[0]].append(late)
        if late > 100:
            worst[phase[0]].append((round(late, 1), round(now - t0, 2)))
        expected[0] = now + 0.005
        if trace is not None:
            trace.write(f"--- {phase[0]} tick at {now - t0:.3f}s, late {late:.1f} ms\n")
            faulthandler.dump_traceback_later(0.085, repeat=True, file=trace)

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)

    # Phase 1, "startup": the window's first paint and the engine warm-up; the user is
    # looking at the list, not training yet.
    loop = QEventLoop()
    win.engineReady.connect(loop.quit)
    QTimer.singleShot(60_000 if not args.no_warm_up else 500, loop.quit)
    timer.start()
    win.show()
    loop.exec()
    startup_s = time.perf_counter() - t0

    # Phase 2, "training": press Train; the run, the results refresh, the pre-annotation.
    loop = QEventLoop()
    phase[0] = "training"
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    panel.trainingProgress.connect(
        lambda _e: phases.setdefault("first_event_s", time.perf_counter() - t0))
    panel.trainingFinished.connect(lambda _o: phases.setdefault("train_s", time.perf_counter() - t0))
    panel.suggestionsRefreshed.connect(lambda _n: loop.quit())
    panel.message.connect(lambda m: (print("error:", m, file=sys.stderr), loop.quit()))
    QTimer.singleShot(300_000, loop.quit)
    expected[0] = time.perf_counter() + 0.005
    panel.start_training(TaskKind.NER)
    loop.exec()
    timer.stop()
    if trace is not None:
        faulthandler.cancel_dump_traceback_later()
    total = time.perf_counter() - t0

    def summary(values: list[float]) -> dict[str, float | int]:
        values = sorted(values)

        def pct(p: float) -> float:
            return round(values[min(len(values) - 1, int(p * len(values)))], 1) if values else 0.0

        return {"ticks": len(values), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                "max_ms": round(values[-1], 1) if values else 0.0}

    training = summary(lateness["training"])
    emit({
        "torch_threads": args.torch_threads,
        "documents": args.docs,
        "warm_up": not args.no_warm_up,
        "startup": {"seconds": round(startup_s, 2), **summary(lateness["startup"]),
                    "stalls_over_100ms_at_s": worst["startup"][:10]},
        "first_event_s": round(phases.get("first_event_s", 0.0), 2),
        "train_s": round(phases.get("train_s", 0.0), 1),
        "train_plus_preannotate_s": round(total, 1),
        **training,
        "stalls_over_100ms_at_s": worst["training"][:10],
        "targets": {"p99_ms": 50, "max_ms": 200},
    }, args.out, indent=2)
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
