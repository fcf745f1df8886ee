"""The GUI in a real X server: the scenarios of ``xcb_scenarios.py`` run in a child pytest
on Xvfb with openbox (see conftest.py), so that missing system libraries of Qt's xcb
plugin, focus and real keyboard and mouse events are tested, which the offscreen platform
of the other GUI tests hides."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.mark.timeout(900)  # the first test may apt-get install the X server
def test_xcb_plugin_loads(x_env: dict[str, str]) -> None:
    """Qt's xcb plugin and its system libraries load (bootstrap.sh installs them)."""
    done = subprocess.run(
        [sys.executable, "-c", ("from PySide6.QtWidgets import QApplication; "
                                "app = QApplication([]); print(app.platformName())")],
        check=False, env=x_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "xcb", (
        "Qt cannot open a window on X11 here; ./bootstrap.sh system-deps installs the "
        f"missing libraries.\n{done.stderr[-2000:]}")


@pytest.mark.timeout(600)
def test_app_in_a_real_window(x_env: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / "xcb_scenarios.py"), "-q",
         "-p", "no:cacheprovider", "--timeout=120", f"--junitxml={report}", "--rootdir", str(REPO)],
        check=False, env=x_env, cwd=REPO, capture_output=True, text=True, timeout=500)
    ran = []
    if report.exists():
        ran = [case.get("name") for case in ElementTree.parse(report).iter("testcase")]
    assert done.returncode == 0 and len(ran) >= 3, done.stdout[-6000:] + done.stderr[-2000:]
    assert "test_sentences_a_real_key_picks_a_sentence_and_another_sets_its_class" in ran, ran
