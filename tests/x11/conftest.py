"""A real X server for the tests in this folder: Xvfb on a free display and openbox (focus
needs a window manager), started here so that the default test command, on a machine that
starts from nothing, runs them. The app itself runs in a child pytest (``xcb_scenarios.py``)
with ``QT_QPA_PLATFORM=xcb``: this process already has an offscreen QApplication.

Missing X packages are installed with apt-get when running as root (CI); otherwise, and only
when no X server can be started, the tests are skipped with a message saying what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TOOLS = {"Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool", "import": "imagemagick"}


def _missing_tools() -> list[str]:
    return [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]


def _install(packages: list[str]) -> str:
    """apt-get the packages as root; '' on success, else why not."""
    if os.name != "posix" or not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "not root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
        done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """The DISPLAY of a fresh Xvfb with openbox running on it."""
    missing = _missing_tools()
    if missing:
        why = _install(missing)
        if why and shutil.which("Xvfb") is None:
            pytest.skip(f"no X server can be started ({why}): install {' '.join(missing)} "
                        "(as root: ./bootstrap.sh system-deps)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten",
         "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display it took
    if not number:
        err = server.stderr.read().decode(errors="replace") if server.stderr else ""
        server.kill()
        pytest.skip(f"Xvfb did not start: {err.strip()[-300:]}")
    display = f":{number}"
    env = {**os.environ, "DISPLAY": display}
    wm = None
    if shutil.which("openbox"):
        wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # it takes over focus handling before the first window maps
    try:
        yield display
    finally:
        for proc in (wm, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def x_env(x_display: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a child process on the real X server, with its own settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "state"),
               ANNOTATOR_REAL_X="1")
    return env
