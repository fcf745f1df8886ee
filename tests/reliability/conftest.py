"""Fixtures of the reliability suite, and its summary: one line of numbers per test group,
printed at the end of the pytest run under ``reliability summary``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .reliability_lib import SUMMARY, Zygote


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if SUMMARY:
        terminalreporter.section("reliability summary")
        for line in SUMMARY:
            terminalreporter.write_line(line)
        # RELIABILITY_SUMMARY_OUT=FILE: the same lines as JSON, the raw result behind the
        # README's reliability table (benchmarks/results/reliability_summary.json).
        out = os.environ.get("RELIABILITY_SUMMARY_OUT")
        if out:
            stats = terminalreporter.stats
            Path(out).write_text(json.dumps({
                "command": "RELIABILITY_SUMMARY_OUT=" + out + " python -m pytest "
                           + " ".join(terminalreporter.config.invocation_params.args),
                "passed": len(stats.get("passed", [])), "failed": len(stats.get("failed", [])),
                "summary": list(SUMMARY),
            }, indent=1) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    """The warm fork server the crash trials run their workers from."""
    z = Zygote()
    yield z
    z.close()


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A tiny random BERT base model directory (safetensors + fast tokenizer)."""
    from .reliability_lib import make_tiny_base_model

    return make_tiny_base_model(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="session")
def tiny_ner(tiny_base, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A saved NER model version (labels Disease, Drug) written by the engine's saver."""
    from .reliability_lib import make_tiny_ner_model

    return make_tiny_ner_model(tiny_base, tmp_path_factory.mktemp("tiny") / "ner")


@pytest.fixture(scope="session")
def engine_zygote() -> Iterator[Zygote]:
    """A fork server with torch, transformers and the engine already imported."""
    z = Zygote(preload=("torch", "transformers", "core.engine.job", "core.engine.project_bridge",
                        "core.engine.predict", "core.active.preannotate"))
    yield z
    z.close()
