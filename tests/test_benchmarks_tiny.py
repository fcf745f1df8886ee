"""Every benchmark script runs in its tiny mode (``--tiny``: a few examples, seconds of work)
and writes its JSON result with ``--out``, so that none of them rots between the runs that
measure; and every committed raw result in benchmarks/results/ is valid JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"

# The keys each script's JSON result must hold (a subset of what it writes), and whether it
# reads the shared corpora (../shared/data).
EXPECTED: dict[str, tuple[set[str], bool]] = {
    "bench_agreement": ({"entities", "classes", "answers", "all_equal", "checks"}, True),
    "bench_attributes": ({"data", "rules", "per_seed", "summary", "code",
                          "load_average_start"}, True),
    "bench_crash_soak": ({"annotate", "import", "problems", "seconds"}, False),
    "bench_first_suggestions": ({"wall_seconds", "parts", "pending_suggestions", "under_target"},
                                True),
    "bench_fuzz_parsers": ({"fuzz", "failures", "big_single_line", "examples_per_format"}, False),
    "bench_gui_100k": ({"documents", "open_window_s", "scrollbar_jump_worst_s", "search_hits"},
                       False),
    "bench_gui_long_note": ({"chars", "entities", "open_document", "scroll", "cursor_move"},
                            False),
    "bench_gui_stall": ({"documents", "p99_ms", "max_ms", "train_s", "targets"}, False),
    "bench_pg_load": ({"load", "list", "lost"}, False),
    "bench_patterns": ({"speed", "quality", "seed"}, True),
    "bench_overlapping": ({"corpora", "preset", "base_model", "threads"}, True),
    "bench_project_quality": ({"imported", "trained", "eval", "command"}, True),
    "bench_preannotate": ({"pipeline", "predictor", "predictor_fp32", "preannotate", "int8",
                           "span_f1_against_gold", "speedup_preannotate_vs_pipeline",
                           "end_to_end", "app", "agreement_predictor_vs_fp32", "batch_size"}, True),
    "bench_quality": ({"corpora", "max_train", "seed"}, True),
    "bench_relations": ({"data", "per_run", "summary", "load_average_start"}, False),
    "bench_segmentation": ({"corpus", "segmenters", "chosen", "not_installed"}, True),
    "bench_sentence_context": ({"corpora", "summary", "per_seed", "settings",
                                "load_average_start"}, True),
    "bench_simulation": ({"curves", "per_seed", "comparison", "metric", "settings"}, True),
    "bench_training": ({"engine", "plain", "speedup", "sentences"}, True),
}
# Scripts that start a throw-away PostgreSQL server of their own (tests/pg_server.py).
NEEDS_POSTGRES = {"bench_pg_load"}
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("bench_*.py"))


def test_every_benchmark_script_has_a_tiny_run() -> None:
    missing = sorted(set(SCRIPTS) - set(EXPECTED))
    assert not missing, f"add these benchmark scripts to EXPECTED (and give them --tiny): {missing}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(set(SCRIPTS) & set(EXPECTED)))
def test_benchmark_tiny_run_writes_its_json(name: str, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    keys, needs_corpora = EXPECTED[name]
    if needs_corpora:
        request.getfixturevalue("shared_data")  # fails under CI, skips elsewhere, when absent
    if name in NEEDS_POSTGRES:
        request.getfixturevalue("postgres_server")  # the same: fails under CI, else skips
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=540, cwd=tmp_path, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))  # --out holds only the JSON
    assert keys <= set(result), sorted(keys - set(result))
    assert result["command"].endswith(f"{name}.py --tiny --out {out}")
    # stdout shows the same result (other lines there are a library's logging).
    assert out.read_text(encoding="utf-8").strip() in done.stdout


@pytest.mark.parametrize("path", sorted((BENCHMARKS / "results").glob("*.json")),
                         ids=lambda p: p.name)
def test_committed_results_are_valid_json(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))
