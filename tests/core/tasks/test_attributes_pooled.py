"""The pooled-span variant of the attribute head (core.tasks.attributes.REPRESENTATION
"pooled"): the note without markers, [CLS] and the mean of the entity's sub-word vectors
into a linear head saved in model.safetensors. Its inputs point at the entity's sub-words
(also in a window of a long note), a tiny BERT trains and predicts with it, and the saved
directory loads back (stock from_pretrained plus the head read by safetensors)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from test_attributes_training import WORDS, attribute_docs
from tiny_models import build_tiny_bert

from core.engine.settings import TaskSpec, TrainingSettings
from core.project import Project
from core.tasks import attributes
from core.types import DocumentRecord, EntitySpan, Split, TaskKind

LABELS = ("negation=Affirmed", "negation=Negated", "frequency=Daily", "frequency=Today")
SPEC = TaskSpec(task=TaskKind.ATTRIBUTE, labels=LABELS)


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("pooled-bert") / "bert")


def _entity_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_pooled_inputs_point_at_the_entitys_subwords(bert: Path) -> None:
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(bert)
    # "zorblaxes" is three sub-words (zorblax ##e ##s); two entities in one note
    text = "the patient was given zorblaxes daily and no quintarin today"
    first = EntitySpan(22, 31, "DRUG", {"negation": "Affirmed", "frequency": "Daily"})
    second = EntitySpan(45, 54, "DRUG", {"negation": "Negated", "frequency": "Today"})
    assert text[first.start:first.end] == "zorblaxes" and text[second.start:second.end] == (
        "quintarin")
    doc = DocumentRecord(text, spans=(first, second, EntitySpan(0, 3, "DRUG")))
    feats, where = attributes.entity_features(tok, SPEC, [doc], max_length=64,
                                              with_gold=True, representation="pooled")
    assert [span for _, span in where] == [first, second]  # no attributes: no input
    whole = _entity_ids(tok, text)
    for f, span, values in ((feats[0], first, [0, 0]), (feats[1], second, [1, 1])):
        s, e = f.start_position, f.end_position
        assert f.input_ids[s:e] == _entity_ids(tok, text[span.start:span.end])
        # the note as it is between [CLS] and [SEP]: no marker anywhere
        assert f.input_ids == [tok.cls_token_id, *whole, tok.sep_token_id]
        assert f.labels == [*values, s, e]  # the values, then the positions
    assert feats[0].end_position - feats[0].start_position == 3

    # a long note: the window around the entity, the positions still on its sub-words
    left = " ".join(random.Random(1).choice(WORDS) for _ in range(200))
    right = " ".join(random.Random(2).choice(WORDS) for _ in range(200))
    long_text = f"{left} no zorblaxes today {right}"
    at = long_text.index("zorblaxes")
    span = EntitySpan(at, at + 9, "DRUG", {"negation": "Negated"})
    (f,), _ = attributes.entity_features(tok, SPEC, [DocumentRecord(long_text, spans=(span,))],
                                         max_length=32, with_gold=True, representation="pooled")
    assert len(f.input_ids) == 32
    s, e = f.start_position, f.end_position
    assert f.input_ids[s:e] == _entity_ids(tok, "zorblaxes")
    assert tok.convert_ids_to_tokens(f.input_ids[s - 1:e + 1]) == [
        "no", "zorblax", "##e", "##s", "today"]
    # the window is a stretch of the note, the entity in its middle
    content = f.input_ids[1:-1]
    note = _entity_ids(tok, long_text)
    lo = f.window[0]
    assert note[lo:lo + 3] == f.input_ids[s:e]
    begin = lo - (s - 1)
    assert note[begin:begin + len(content)] == content
    assert abs((s - 1) - (len(content) - (e - 1))) <= 1  # as much context left as right
    assert f.labels == [1, IGNORE, s, e]


IGNORE = -100


def test_pooled_logits_are_the_head_over_cls_and_the_entity_mean(bert: Path) -> None:
    import torch
    import transformers

    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        bert, num_labels=len(LABELS))
    model.config.update({attributes.CONFIG_KEY: "pooled"})
    head = attributes.attach_span_head(model)
    assert tuple(head.weight.shape) == (len(LABELS), 2 * 32)
    model.eval()
    ids = torch.tensor([[2, 40, 41, 42, 43, 3], [2, 44, 45, 46, 3, 0]])
    mask = (ids != 0).long()
    spans = torch.tensor([[2, 4], [1, 2]])
    got = attributes.pooled_logits(model, spans, input_ids=ids, attention_mask=mask)
    h = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
    want = torch.stack([
        head(torch.cat([h[0, 0], h[0, 2:4].mean(0)])),
        head(torch.cat([h[1, 0], h[1, 1]])),
    ])
    assert torch.allclose(got, want, atol=1e-5)
    # another entity in the same input gives other logits: the pooling reads the span
    other = attributes.pooled_logits(model, torch.tensor([[1, 2], [2, 3]]), input_ids=ids,
                                     attention_mask=mask)
    assert not torch.allclose(other, got, atol=1e-4)


def train_with(bert: Path, tmp: Path, representation: str) -> tuple[Path, Any]:
    """A project of 80 + 16 dev attribute documents, tagger and head trained by one click
    with the head reading the entity as ``representation``: (project path, outcome)."""
    path = tmp / "notes.db"
    project = Project.create(path, tasks={"ner": ["DRUG"]})
    project.annotations.add_attribute("negation=Affirmed,Negated")
    project.annotations.add_attribute("frequency=Daily,Today")
    docs = attribute_docs(96, seed=1)
    project.documents.add(docs[:80])
    project.documents.add(docs[80:], split=Split.DEV)
    # 16 epochs: at 8 the tiny encoder reaches 0.9 on both attributes in about half the
    # seeds (the dropout draws decide), at 16 in every seed tried (42-45).
    settings = TrainingSettings(
        base_model=str(bert), learning_rate=3e-3, batch_size=8, epochs=16, max_length=32,
        stride=8, patience=0, warmup_ratio=0.0, device="cpu", min_steps=0)
    mp = pytest.MonkeyPatch()
    mp.setattr(attributes, "REPRESENTATION", representation)
    try:
        outcome = project.training.start("ner", settings)
    finally:
        mp.undo()
    project.close()
    return path, outcome


def span_head_from_file(model_dir: Path) -> Any:
    """The span head as a plain ``Linear`` read from ``model.safetensors`` by hand."""
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(model_dir / "model.safetensors"))
    out, width = weights["attribute_span_head.weight"].shape
    linear = torch.nn.Linear(width, out)
    linear.load_state_dict({"weight": weights["attribute_span_head.weight"],
                            "bias": weights["attribute_span_head.bias"]})
    return linear


def predicted_fresh(predictor: Any) -> tuple[list[DocumentRecord], list[Any]]:
    """30 new attribute documents and the predictor's predictions, after checking that it
    gets at least 27 of each attribute right with probabilities that sum to 1."""
    fresh = attribute_docs(30, seed=7)
    preds = predictor.predict(fresh)
    right = {"negation": 0, "frequency": 0}
    for doc, pred in zip(fresh, preds):
        for v in pred.values:
            right[v.attribute] += v.value == doc.spans[0].attributes[v.attribute]
            assert abs(sum(v.probabilities.values()) - 1.0) < 1e-6
    assert right["negation"] >= 27 and right["frequency"] >= 27, right
    return fresh, preds


@pytest.fixture(scope="module")
def pooled_project(bert: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return train_with(bert, tmp_path_factory.mktemp("pooled"), "pooled")


def test_a_tiny_model_trains_with_the_pooled_head(pooled_project: tuple[Path, Any]) -> None:
    from safetensors import safe_open

    _, outcome = pooled_project
    head = outcome.attributes
    assert head is not None and head.result.status == "completed", head and head.result.reason
    dev = head.result.dev_metrics["attributes"]
    # The entity's own vectors carry both cues (the markers variant learns one of the two
    # from its tanh pooler on this tiny encoder: test_attributes_training.py).
    assert dev["negation"]["accuracy"] >= 0.9, dev
    assert dev["frequency"]["accuracy"] >= 0.9, dev
    model_dir = Path(head.result.model_path)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config[attributes.CONFIG_KEY] == "pooled"
    assert not list(model_dir.glob("*.bin")) and not list(model_dir.glob("*.pt"))
    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
        assert tuple(f.get_tensor("attribute_span_head.weight").shape) == (4, 64)
    assert "attribute_span_head.bias" in keys
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert tok.convert_tokens_to_ids("[E]") == tok.unk_token_id  # no markers added


def test_the_pooled_model_directory_loads_back_and_predicts(
    pooled_project: tuple[Path, Any],
) -> None:
    import numpy as np
    import torch
    import transformers

    from core.engine.predict import Predictor

    _, outcome = pooled_project
    model_dir = Path(outcome.attributes.result.model_path)
    predictor = Predictor.load(model_dir, device="cpu", precision="fp32")
    assert attributes.is_pooled(predictor.loaded.model)
    fresh, preds = predicted_fresh(predictor)

    # By hand, as the module docstring says: stock from_pretrained, the head from the file.
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    linear = span_head_from_file(model_dir)
    doc = fresh[0]
    (f,), _ = attributes.entity_features(tok, SPEC, [doc], max_length=32, with_gold=False,
                                         representation="pooled")
    with torch.inference_mode():
        h = model.base_model(input_ids=torch.tensor([f.input_ids])).last_hidden_state[0]
        logits = linear(torch.cat([h[0], h[f.start_position:f.end_position].mean(0)]))
    probs = torch.softmax(logits[:2], -1).numpy()
    got = {v.attribute: v for v in preds[0].values}["negation"].probabilities
    assert np.allclose(probs, [got["Affirmed"], got["Negated"]], atol=1e-5)


def test_a_pooled_model_without_its_head_is_refused(
    pooled_project: tuple[Path, Any], tmp_path: Path,
) -> None:
    import shutil

    import transformers
    from safetensors.torch import load_file, save_file

    from core.errors import ModelError

    _, outcome = pooled_project
    broken = tmp_path / "broken"
    shutil.copytree(outcome.attributes.result.model_path, broken)
    weights = load_file(str(broken / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("attribute_span_head")},
              str(broken / "model.safetensors"), metadata={"format": "pt"})
    model = transformers.AutoModelForSequenceClassification.from_pretrained(broken)
    with pytest.raises(ModelError, match="without its head"):
        attributes.span_head(model)


def test_entity_start_is_the_default_a_model_without_the_key_is_markers_and_an_unknown_variant_fails(
    bert: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import transformers

    assert attributes.REPRESENTATION == "entity_start"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(bert, num_labels=4)
    # a model saved before the key: markers, read through its own classifier
    assert attributes.representation_of(model) == "markers"
    assert not attributes.is_pooled(model) and not attributes.has_span_head(model)
    monkeypatch.setattr(attributes, "REPRESENTATION", "start-end")
    tok = transformers.AutoTokenizer.from_pretrained(bert)
    with pytest.raises(ValueError, match="start-end"):
        attributes.ATTRIBUTE.adapt_model(model, tok)
