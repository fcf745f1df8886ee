"""Helpers of the active-learning tests: the shared tiny random BERT and synthetic corpora
(tests/tiny_models.py) with this suite's vocabulary, and models fine-tuned from it for a
few steps."""

from __future__ import annotations

from pathlib import Path

from tiny_models import build_tiny_bert as _build_tiny_bert
from tiny_models import make_class_docs, make_ner_docs, make_qa_docs

from core.types import DocumentRecord, TaskKind

# This suite's sentences use their own filler words (built into the tiny vocabulary).
FILLER = (
    "the patient was given daily and reported no pain after dose in clinic today with "
    "mild fever cough notes follow up week visit stable what drug"
).split()


def build_tiny_bert(root: Path) -> Path:
    """Write a tiny random BERT encoder with a fast tokenizer under ``root``."""
    return _build_tiny_bert(root / "tiny-bert", FILLER)


def ner_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    """Sentences of 4-9 words with one drug name each, labelled DRUG."""
    return make_ner_docs(n, seed, length=(4, 9), filler=FILLER)


def class_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    return make_class_docs(n, seed, sentiment_words=4, filler=FILLER)


def qa_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    return make_qa_docs(n, seed, length=8, filler=FILLER)


def tiny_settings(base: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from core.engine.settings import TrainingSettings

    values = dict(
        base_model=str(base), learning_rate=5e-3, batch_size=8, epochs=5, warmup_ratio=0.0,
        patience=0, max_length=64, stride=16, device="cpu", eval_batch_size=32,
    )
    values.update(overrides)
    return TrainingSettings(**values)  # type: ignore[arg-type]


def train_tiny(base: Path, out: Path, task: TaskKind, docs: list[DocumentRecord],
               labels: list[str], **overrides: object) -> Path:
    from core.engine.job import TrainingJob

    job = TrainingJob(task=task, labels=labels, train=docs, dev=docs[:8],
                      settings=tiny_settings(base, **overrides), output_dir=out)
    result = job.run()
    assert result.status == "completed", result.reason
    assert result.model_path is not None
    return Path(result.model_path)




class TinyModels:
    """Tiny models fine-tuned on demand (each task once per test session)."""

    def __init__(self, base: Path, root: Path) -> None:
        self.base, self.root = base, root
        self._cache: dict[str, Path] = {}

    def __getitem__(self, task: str) -> Path:
        if task not in self._cache:
            if task == "ner":
                path = train_tiny(self.base, self.root / "ner", TaskKind.NER, ner_docs(48),
                                  ["DRUG"])
            elif task == "classify":
                path = train_tiny(self.base, self.root / "cls", TaskKind.CLASSIFY,
                                  class_docs(48), ["pos", "neg"])
            else:
                path = train_tiny(self.base, self.root / "qa", TaskKind.QA, qa_docs(32),
                                  ["answer"])
            self._cache[task] = path
        return self._cache[task]
