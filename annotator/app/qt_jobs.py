"""Long work off the GUI thread: a thin adapter from plain events to Qt signals.

The contract: the functions run by :class:`QtBackgroundTask` run on a worker thread, open
their own sessions and never touch widgets; they report through ``emit(event)`` with
plain frozen dataclasses.

The worker thread touches no Qt object at all, not even to emit a signal: ``emit`` puts the
event on a thread-safe queue, and a timer of the task's, on the GUI thread, empties it and
emits the Qt signals there.

Nor may the worker hold the last reference to anything the GUI owns: a function run on it
is often a closure over a window (the count query reads the view's kind), and if the worker
dropped the last reference, the window would be destroyed on the worker thread. That
crashed CI (a segmentation fault) and, once, deadlocked it (the widget's destructor waited
for the GIL while holding Qt's connection lock, which the GUI thread wanted). So the worker
function is a module function that gets the work through a one-item box and lets go of it
before it reports ``done``: the GUI thread, which keeps the task (and so the function)
until ``done`` is delivered, always drops the last reference.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from core.errors import AnnotatorError
from core.project import Project
from core.types import TaskKind

log = logging.getLogger(__name__)


class JobControl:
    """Cancellation shared by the GUI thread (``cancel``) and the worker (``cancelled``)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Any thread. Sets the flag the worker's loop checks."""
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for cb in callbacks:
            cb()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Worker thread: forward a cancel to an engine job (e.g. ``TrainingJob.cancel``)."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            callback()


WorkFn = Callable[[Callable[[object], None], JobControl], object]


class QtBackgroundTask(QObject):
    """Runs ``fn(emit, control)`` on a daemon worker thread.

    Signals (emitted on the GUI thread, from the task's queue): ``progress(event)`` for each
    plain event, ``succeeded(result)`` with the return value, ``failed(message)`` with a
    user-readable message (an ``AnnotatorError``'s text; other exceptions are logged with
    their traceback and reported briefly), then ``done()`` in every case.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    done = Signal()

    # How often the GUI thread looks at the queue while the worker runs: well under what a
    # user notices, and a wake-up that costs nothing when the queue is empty.
    POLL_MS = 15

    def __init__(self, fn: WorkFn, *, name: str = "work", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.control = JobControl()
        self._thread: threading.Thread | None = None
        self._finished = False  # ``done`` delivered: the work is over for the GUI thread
        self._events: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._pump = QTimer(self)
        self._pump.setInterval(self.POLL_MS)
        self._pump.timeout.connect(self._deliver)

    def start(self) -> None:
        self._pump.start()
        self._thread = threading.Thread(
            target=_work, args=([self.fn], self.control, self._events, self.name),
            name=self.name, daemon=True,
        )
        self._thread.start()

    def cancel(self) -> None:
        self.control.cancel()

    def is_running(self) -> bool:
        return self._thread is not None and not self._finished and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _deliver(self) -> None:
        """GUI thread (the timer): emit what the worker queued, in order."""
        while True:
            try:
                kind, value = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                self.progress.emit(value)
            elif kind == "succeeded":
                self.succeeded.emit(value)
            elif kind == "failed":
                self.failed.emit(value)
            else:
                self._pump.stop()
                self._finished = True
                self.done.emit()
                return


def _work(box: list[WorkFn], control: JobControl,
          events: queue.SimpleQueue[tuple[str, object]], name: str) -> None:
    """Worker thread: run the one function in ``box``; every outcome goes on ``events``.
    Touches no Qt object and holds no reference to the task; lets go of the function (and
    whatever its closure holds) before it puts ``done``, so that the last reference is
    never dropped here."""
    fn = box.pop()
    put = events.put
    outcome: tuple[str, object]
    try:
        outcome = ("succeeded", fn(lambda event: put(("progress", event)), control))
    except AnnotatorError as exc:
        outcome = ("failed", str(exc))
    except Exception as exc:
        log.exception("%s failed", name)
        outcome = ("failed", f"{name} failed: {type(exc).__name__}: {exc} (details in the log)")
    del fn
    put(outcome)
    put(("done", None))


class QtLatestQuery(QObject):
    """Runs a read-only query on a worker thread; ``ready(result)`` on the GUI thread.

    For values that go stale (counts for the status bar): ``request()`` while a run is in
    progress does not start a second one, it re-runs once when the current one ends, so
    a burst of edits costs at most two queries and the last result is always current.
    """

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], *, name: str = "query",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self._task: QtBackgroundTask | None = None
        self._again = False
        self._stopped = False

    def request(self) -> None:
        """GUI thread. Start a run, or schedule one after the current run."""
        if self._stopped:
            return
        if self._task is not None:
            self._again = True
            return
        self._again = False
        fn = self.fn

        def work(emit: Callable[[object], None], control: JobControl) -> object:
            # Worker thread: never touches widgets.
            return fn()

        task = QtBackgroundTask(work, name=self.name, parent=self)
        task.succeeded.connect(self.ready)
        task.failed.connect(self.failed)
        task.done.connect(self._on_done)
        self._task = task
        task.start()

    def is_running(self) -> bool:
        return self._task is not None and self._task.is_running()

    def stop(self, timeout: float | None = None) -> None:
        """GUI thread, before the project closes: no new runs; wait for the current one."""
        self._stopped = True
        if self._task is not None:
            self._task.wait(timeout)

    def _on_done(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        if self._again:
            self.request()


# --- garbage collection on the GUI thread ----------------------------------------------------

_GUI_GC: QTimer | None = None


def collect_garbage_on_gui_thread(interval_ms: int = 500) -> None:
    """Run Python's cyclic garbage collector only on the GUI thread (idempotent).

    The collector runs in whatever thread happens to allocate past its threshold. A window
    and the closures connected to its signals form reference cycles, so a closed window is
    cyclic garbage, and a collection on a worker thread (a count query, training) destroyed
    its widgets there: a segmentation fault in CI, and a deadlock (Qt's connection lock
    against the GIL). So automatic collection is switched off and a timer on the GUI thread
    collects, by generation, when the allocation counts pass the usual thresholds (the
    pattern PyQt/PySide applications use for this)."""
    global _GUI_GC
    app = QCoreApplication.instance()
    if _GUI_GC is not None or app is None:
        return
    gc.disable()
    timer = QTimer(app)
    timer.setInterval(interval_ms)
    timer.timeout.connect(_collect_by_threshold)
    timer.start()
    _GUI_GC = timer


def _collect_by_threshold() -> None:
    """GUI thread (timer): collect the oldest generation whose count passed its threshold."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


# --- engine warm-up ---------------------------------------------------------------------------

# What a training run and a pre-annotation run import on first use. Importing them on the
# worker when the user presses Train froze the GUI for up to ~0.5 s: parts of these imports
# (extension-module loading, scipy/sklearn set-up pulled in by seqeval) hold the GIL for
# 100-450 ms at a stretch, which no switch interval can interrupt. Imported once, early,
# while the user is still reading, they cost nothing later.
ENGINE_MODULES = (
    "torch",
    "transformers",
    "seqeval.metrics",
    "core.engine.job",
    "core.engine.tasks",
    "core.engine.project_bridge",
    "core.active.preannotate",
)


# transformers imports its classes lazily, on first attribute access: touch the ones the
# engine uses (the bundled encoder is a BERT).
TRANSFORMERS_NAMES = (
    "AutoConfig", "AutoTokenizer", "AutoModelForTokenClassification",
    "AutoModelForSequenceClassification", "AutoModelForQuestionAnswering", "BertConfig",
    "BertTokenizerFast", "BertForTokenClassification", "BertForSequenceClassification",
    "BertForQuestionAnswering", "get_scheduler",
)


def warm_up_engine(emit: Callable[[object], None], control: JobControl) -> list[str]:
    """Worker thread: import :data:`ENGINE_MODULES` and :data:`TRANSFORMERS_NAMES` (the
    missing ones are skipped); the names imported. Never touches widgets."""
    import gc

    # A full garbage collection holds the GIL for its whole length, which grows with the
    # heap; imports allocate enough to trigger several, each freezing the GUI thread for
    # 100-400 ms once torch is loaded. So: no collections while importing, then move
    # everything imported to the permanent generation (gc.freeze), so later collections
    # (during training) only walk new objects.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_engine(control)
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _import_engine(control: JobControl) -> list[str]:
    import importlib

    done: list[str] = []
    for name in ENGINE_MODULES:
        if control.cancelled:
            return done
        try:
            module = importlib.import_module(name)
        except ImportError:
            log.info("warm-up: %s not importable", name)
            continue
        done.append(name)
        if name == "transformers":
            for attr in TRANSFORMERS_NAMES:
                try:
                    getattr(module, attr)
                except (ImportError, AttributeError):
                    log.info("warm-up: transformers.%s not importable", attr)
                else:
                    done.append(f"transformers.{attr}")
    return done


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainOutcome:
    """What a training run left behind (plain data for the GUI thread)."""

    status: str
    reason: str
    result: Any  # core.engine.results.TrainingResult
    run_id: int | None = None
    model_version_id: int | None = None
    warnings: tuple[str, ...] = field(default=())


def train_on_project(
    project: Project, kind: TaskKind, settings: Any, emit: Callable[[object], None],
    control: JobControl,
) -> TrainOutcome:
    """Worker thread: train ``kind`` on the project's labels and record the run
    (``project.training.start``). Never touches widgets."""
    outcome = project.training.start(
        kind, settings, on_event=emit, on_job=lambda job: control.on_cancel(job.cancel)
    )
    result = outcome.result
    return TrainOutcome(
        result.status, result.reason, result, outcome.run_id, outcome.model_version_id,
        tuple(result.warnings),
    )


def preannotate_project(
    project: Project, kind: TaskKind, emit: Callable[[object], None], control: JobControl
) -> int:
    """Worker thread: suggestions and active-learning scores from the active model
    (``core.active.preannotate``); the number of suggestions written. Never touches widgets."""
    result = project.review.preannotate(kind, on_progress=emit,
                                        cancel=lambda: control.cancelled)
    return int(result.suggestions)
