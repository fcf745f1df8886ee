"""Helpers of the active-learning tests: a tiny random BERT (2 layers, hidden 32), small
synthetic corpora and models fine-tuned from it for a few steps. Built here (not imported
from the engine's tests) so these tests stand alone."""

from __future__ import annotations

import random
import string
from pathlib import Path

from core.types import Answer, DocumentRecord, EntitySpan, Question, TaskKind

DRUGS = ["zorblax", "quintarin", "melovate", "drapsil"]
FILLER = (
    "the patient was given daily and reported no pain after dose in clinic today with "
    "mild fever cough notes follow up week visit stable what drug"
).split()
GOOD = ["great", "lovely", "happy", "good"]
BAD = ["awful", "terrible", "sad", "bad"]
WORDS = sorted(set(DRUGS + FILLER + GOOD + BAD))


def _vocab() -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return special + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def build_tiny_bert(root: Path) -> Path:
    """Write a tiny random BERT encoder with a fast tokenizer under ``root``."""
    import torch
    import transformers

    tokenizer = transformers.BertTokenizer(
        vocab={token: i for i, token in enumerate(_vocab())}, do_lower_case=True
    )
    model_dir = root / "tiny-bert"
    tokenizer.save_pretrained(model_dir)
    config = transformers.BertConfig(
        vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=2,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(model_dir)
    return model_dir


def ner_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    """Sentences with one drug name each, labelled DRUG."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
        k = rng.randrange(len(words))
        words[k] = rng.choice(DRUGS)
        text = " ".join(words)
        start = sum(len(w) + 1 for w in words[:k])
        docs.append(DocumentRecord(text=text, external_id=f"ner-{seed}-{i}",
                                   spans=(EntitySpan(start, start + len(words[k]), "DRUG"),)))
    return docs


def class_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        positive = i % 2 == 0
        words = [rng.choice(FILLER) for _ in range(2)]
        words += [rng.choice(GOOD if positive else BAD) for _ in range(4)]
        rng.shuffle(words)
        docs.append(DocumentRecord(text=" ".join(words), external_id=f"cls-{seed}-{i}",
                                   classes=("pos" if positive else "neg",)))
    return docs


def qa_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(8)]
        k = rng.randrange(8)
        words[k] = rng.choice(DRUGS)
        text = " ".join(words)
        start = sum(len(w) + 1 for w in words[:k])
        q = Question("what drug was given", (Answer(start, start + len(words[k]), words[k]),))
        docs.append(DocumentRecord(text=text, external_id=f"qa-{seed}-{i}", questions=(q,)))
    return docs


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
