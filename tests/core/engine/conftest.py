"""Shared fixtures: a tiny random BERT (2 layers, hidden 32) with a WordPiece vocabulary
built from the test texts, and small synthetic corpora for each task."""

from __future__ import annotations

import os
import random
import string
from pathlib import Path

import pytest

from core.types import Answer, DocumentRecord, EntitySpan, Question

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DRUGS = ["zorblax", "quintarin", "melovate", "drapsil"]
FILLER = (
    "the patient was given daily and reported no pain after dose in clinic today with "
    "mild fever cough notes follow up week visit stable who what where when why how "
    "which is are did does answer question doctor nurse"
).split()
GOOD = ["great", "lovely", "happy", "good"]
BAD = ["awful", "terrible", "sad", "bad"]
WORDS = sorted(set(DRUGS + FILLER + GOOD + BAD))


def _vocab() -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return special + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of a tiny random BERT encoder with a fast tokenizer."""
    import torch
    import transformers

    root = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = transformers.BertTokenizer(
        vocab={token: i for i, token in enumerate(_vocab())}, do_lower_case=True
    )
    assert tokenizer.is_fast and len(tokenizer) == len(_vocab())
    model_dir = root / "model"
    tokenizer.save_pretrained(model_dir)
    config = transformers.BertConfig(
        vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=2,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(model_dir)
    return model_dir


def make_ner_docs(n: int, seed: int = 0, length: int = 8) -> list[DocumentRecord]:
    """Sentences with one drug name each, labelled DRUG (a trivially learnable pattern)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(length)]
        k = rng.randrange(length)
        words[k] = rng.choice(DRUGS)
        text = " ".join(words)
        start = sum(len(w) + 1 for w in words[:k])
        docs.append(DocumentRecord(text=text, external_id=f"ner-{seed}-{i}",
                                   spans=(EntitySpan(start, start + len(words[k]), "DRUG"),)))
    return docs


def make_class_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        positive = i % 2 == 0
        # Mostly sentiment words, so that even a tiny random encoder learns it in seconds.
        words = [rng.choice(FILLER) for _ in range(2)]
        words += [rng.choice(GOOD if positive else BAD) for _ in range(5)]
        rng.shuffle(words)
        docs.append(DocumentRecord(text=" ".join(words), external_id=f"cls-{seed}-{i}",
                                   classes=("pos" if positive else "neg",)))
    return docs


def make_qa_docs(n: int, seed: int = 0) -> list[DocumentRecord]:
    """Contexts holding one drug name; the question asks which drug: the answer is it."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(10)]
        k = rng.randrange(10)
        words[k] = rng.choice(DRUGS)
        text = " ".join(words)
        start = sum(len(w) + 1 for w in words[:k])
        q = Question("what drug was given", (Answer(start, start + len(words[k]), words[k]),))
        docs.append(DocumentRecord(text=text, external_id=f"qa-{seed}-{i}", questions=(q,)))
    return docs
