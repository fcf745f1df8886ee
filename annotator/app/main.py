"""Starting the desktop app: theme, error hook, the project to open."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

log = logging.getLogger("annotator.app")
APP_NAME = "text-annotator"


def log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_logging() -> Path:
    path = log_dir() / "annotator.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def install_excepthook() -> None:
    """Unexpected errors: traceback to the log file, a short message to the user."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        from core.errors import AnnotatorError

        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if isinstance(exc, AnnotatorError):
            message = str(exc)
        else:
            log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
            message = (
                f"Something went wrong ({exc_type.__name__}: {exc}).\n\nYour labels are safe: every "
                f"edit is saved as you make it. Details are in {log_dir() / 'annotator.log'}."
            )
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            QMessageBox.warning(None, "Annotator", message)
        else:
            print(message, file=sys.stderr)

    sys.excepthook = hook


def runtime_versions() -> dict[str, str]:
    """App, Qt, torch, transformers versions and the device training would use."""
    import PySide6
    from PySide6.QtCore import qVersion

    from annotator import __version__

    out = {"app": __version__, "qt": qVersion(), "pyside": PySide6.__version__}
    try:
        import torch

        out["torch"] = torch.__version__
        if torch.cuda.is_available():
            out["device"] = f"CUDA ({torch.cuda.get_device_name(0)})"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            out["device"] = "MPS (Apple GPU)"
        else:
            out["device"] = f"CPU ({torch.get_num_threads()} threads)"
    except ImportError:
        out["torch"], out["device"] = "not installed", "none"
    try:
        import transformers

        out["transformers"] = transformers.__version__
    except ImportError:
        out["transformers"] = "not installed"
    return out


def make_application(argv: list[str] | None = None, *, theme: str | None = None) -> Any:
    """The QApplication, themed; ``theme`` "dark"/"light" forces a colour scheme (else the
    ``ANNOTATOR_THEME`` environment variable, else the View › Theme choice, by default the
    system's)."""
    import os

    from PySide6.QtWidgets import QApplication

    from annotator.app.qt_theme import apply_theme

    # While a worker thread runs Python (training, pre-annotation, imports), the GUI thread
    # waits up to the switch interval each time it needs the GIL back, and painting or a
    # slot needs it many times: 5 ms (the default) x dozens of hand-overs made 0.4 s
    # freezes. 1 ms keeps the GUI responsive at a negligible cost to the worker.
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setOrganizationName("text-annotator")
    app.setApplicationName("annotator")
    if theme is None:
        from PySide6.QtCore import QSettings

        # View › Theme's choice; the environment variable still wins (screenshots).
        saved = QSettings("text-annotator", "annotator").value("view/theme", "system")
        theme = os.environ.get("ANNOTATOR_THEME") or (str(saved) if saved else None)
    apply_theme(app, theme)
    return app


def run_app(project_path: str | None) -> int:
    """Open ``project_path`` (a file or a PostgreSQL URL; else the demo project) in the
    desktop app; the exit code."""
    setup_logging()
    install_excepthook()
    app = make_application()
    from PySide6.QtWidgets import QMessageBox

    from annotator.app.demo import ensure_demo_project
    from annotator.app.qt_main_window import QtMainWindow
    from core.errors import AnnotatorError
    from core.project import Project

    try:
        # A project file, or a database URL (postgresql://user@host/dbname) as it is.
        target = project_path if project_path else ensure_demo_project()
        project = Project.open(target)
    except AnnotatorError as exc:
        QMessageBox.warning(None, "Annotator", str(exc))
        return 2
    window = QtMainWindow(project)
    window.show()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, window.ask_annotator_name_once)  # the first start only
    return int(app.exec())
