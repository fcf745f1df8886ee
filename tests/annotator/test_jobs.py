"""Background tasks: the worker thread never calls into Qt; every signal is emitted on the
GUI thread, in the order the worker reported."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from annotator.app.qt_jobs import QtBackgroundTask, QtLatestQuery
from core.errors import AnnotatorError


def _record_threads(task: QtBackgroundTask) -> list[tuple[str, object, str]]:
    seen: list[tuple[str, object, str]] = []
    # A direct connection runs the slot in the thread that emits: a signal emitted on the
    # worker would show up here with the worker's name.
    direct = Qt.ConnectionType.DirectConnection
    name = lambda: threading.current_thread().name  # noqa: E731
    task.progress.connect(lambda e: seen.append(("progress", e, name())), direct)
    task.succeeded.connect(lambda r: seen.append(("succeeded", r, name())), direct)
    task.failed.connect(lambda m: seen.append(("failed", m, name())), direct)
    task.done.connect(lambda: seen.append(("done", None, name())), direct)
    return seen


def test_signals_come_from_the_gui_thread_in_order(qtbot) -> None:  # type: ignore[no-untyped-def]
    def work(emit, control):  # type: ignore[no-untyped-def]
        for i in range(5):
            emit(i)
        return "result"

    task = QtBackgroundTask(work, name="worker-x")
    seen = _record_threads(task)
    with qtbot.waitSignal(task.done, timeout=5000):
        task.start()
    gui = threading.main_thread().name
    assert [(k, v) for k, v, _ in seen] == [
        ("progress", 0), ("progress", 1), ("progress", 2), ("progress", 3), ("progress", 4),
        ("succeeded", "result"), ("done", None)]
    assert {t for _, _, t in seen} == {gui}
    assert not task.is_running()


def test_a_failure_reaches_the_gui_thread_as_a_message(qtbot) -> None:  # type: ignore[no-untyped-def]
    def user_error(emit, control):  # type: ignore[no-untyped-def]
        raise AnnotatorError("notes.jsonl:3: no text")

    def crash(emit, control):  # type: ignore[no-untyped-def]
        raise ValueError("boom")

    for fn, expected in ((user_error, "notes.jsonl:3: no text"),
                         (crash, "import failed: ValueError: boom (details in the log)")):
        task = QtBackgroundTask(fn, name="import")
        seen = _record_threads(task)
        with qtbot.waitSignal(task.done, timeout=5000):
            task.start()
        assert [(k, v) for k, v, _ in seen] == [("failed", expected), ("done", None)]
        assert {t for _, _, t in seen} == {threading.main_thread().name}


def test_a_query_deleted_while_its_worker_runs_does_not_crash(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The window closing while a count query is still running: the query object goes
    away, the worker ends later and nothing it does reaches the deleted object."""
    release = threading.Event()
    finished = threading.Event()

    def slow() -> int:
        release.wait(5)
        finished.set()
        return 1

    query = QtLatestQuery(slow, name="counts")
    got: list[object] = []
    query.ready.connect(got.append)
    query.request()
    query.deleteLater()
    qtbot.wait(50)  # the deletion happens
    release.set()
    assert finished.wait(5)
    qtbot.wait(100)  # anything queued would be delivered now
    assert got == []


def test_garbage_is_collected_on_the_gui_thread_only(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """A closed window is cyclic garbage; collected on a worker thread, its widgets would be
    destroyed there. With a window open, automatic collection is off and the GUI thread's
    timer collects when the counts pass the thresholds."""
    import gc

    from annotator.app import qt_jobs

    assert not gc.isenabled()
    assert qt_jobs._GUI_GC is not None and qt_jobs._GUI_GC.isActive()
    junk = []
    for _ in range(gc.get_threshold()[0] * 2):
        a: list[object] = []
        a.append(a)  # a cycle: only the collector frees it
        junk.append(a)
    del junk, a
    assert gc.get_count()[0] > gc.get_threshold()[0]
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=3000)
