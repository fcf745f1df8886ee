"""The entity-start variant of the attribute head (core.tasks.attributes.REPRESENTATION
"entity_start"): the entity between the markers [E] ... [/E] as in the markers variant, and
the head reads [CLS] and the vector of [E] through the span head saved in
model.safetensors. Its inputs point at [E], a tiny BERT trains and predicts with it, and
the saved directory loads back (stock from_pretrained plus the head read by safetensors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_attributes_pooled import predicted_fresh, span_head_from_file, train_with
from tiny_models import build_tiny_bert

from core.engine.settings import TaskSpec
from core.tasks import attributes
from core.types import DocumentRecord, EntitySpan, TaskKind

LABELS = ("negation=Affirmed", "negation=Negated", "frequency=Daily", "frequency=Today")
SPEC = TaskSpec(task=TaskKind.ATTRIBUTE, labels=LABELS)


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("entity-start-bert") / "bert")


def _marked_tokenizer(bert: Path) -> Any:
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(bert)
    tok.add_tokens(list(attributes.MARKERS), special_tokens=True)
    return tok


def test_entity_start_inputs_have_the_markers_and_point_at_the_opening_one(bert: Path) -> None:
    tok = _marked_tokenizer(bert)
    text = "the patient was given zorblaxes daily and no quintarin today"
    first = EntitySpan(22, 31, "DRUG", {"negation": "Affirmed", "frequency": "Daily"})
    second = EntitySpan(45, 54, "DRUG", {"negation": "Negated"})
    doc = DocumentRecord(text, spans=(first, second))
    feats, where = attributes.entity_features(tok, SPEC, [doc], max_length=64,
                                              with_gold=True, representation="entity_start")
    markers, _ = attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=True)
    assert [span for _, span in where] == [first, second]
    start_id, end_id = tok.convert_tokens_to_ids(list(attributes.MARKERS))
    for f, plain, span, values in ((feats[0], markers[0], first, [0, 0]),
                                   (feats[1], markers[1], second, [1, -100])):
        assert f.input_ids == plain.input_ids  # the markers variant's input, unchanged
        s, e = f.start_position, f.end_position
        assert e == s + 1 and f.input_ids[s] == start_id
        inside = f.input_ids[s + 1:f.input_ids.index(end_id)]
        assert tok.decode(inside) == text[span.start:span.end]
        assert f.labels == [*values, s, e]  # the values, then the position of [E]
        assert plain.labels == values  # the markers variant carries no positions


@pytest.fixture(scope="module")
def start_project(bert: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return train_with(bert, tmp_path_factory.mktemp("entity-start"), "entity_start")


def test_a_tiny_model_trains_with_the_entity_start_head(
    start_project: tuple[Path, Any],
) -> None:
    import transformers
    from safetensors import safe_open

    _, outcome = start_project
    head = outcome.attributes
    assert head is not None and head.result.status == "completed", head and head.result.reason
    dev = head.result.dev_metrics["attributes"]
    assert dev["negation"]["accuracy"] >= 0.9, dev
    assert dev["frequency"]["accuracy"] >= 0.9, dev
    model_dir = Path(head.result.model_path)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config[attributes.CONFIG_KEY] == "entity_start"
    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as f:
        assert tuple(f.get_tensor("attribute_span_head.weight").shape) == (4, 64)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert tok.unk_token_id not in tok.convert_tokens_to_ids(list(attributes.MARKERS))


def test_the_entity_start_model_loads_back_and_its_logits_read_cls_and_the_marker(
    start_project: tuple[Path, Any],
) -> None:
    import numpy as np
    import torch
    import transformers

    from core.engine.predict import Predictor

    _, outcome = start_project
    model_dir = Path(outcome.attributes.result.model_path)
    predictor = Predictor.load(model_dir, device="cpu", precision="fp32")
    model = predictor.loaded.model
    assert attributes.has_span_head(model) and not attributes.is_pooled(model)
    fresh, preds = predicted_fresh(predictor)

    # By hand: stock from_pretrained, the head from the file, [h_CLS; h_[E]].
    plain = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    linear = span_head_from_file(model_dir)
    (f,), _ = attributes.entity_features(tok, SPEC, [fresh[0]], max_length=32,
                                         with_gold=False, representation="entity_start")
    with torch.inference_mode():
        h = plain.base_model(input_ids=torch.tensor([f.input_ids])).last_hidden_state[0]
        logits = linear(torch.cat([h[0], h[f.start_position]]))
    probs = torch.softmax(logits[:2], -1).numpy()
    got = {v.attribute: v for v in preds[0].values}["negation"].probabilities
    assert np.allclose(probs, [got["Affirmed"], got["Negated"]], atol=1e-5)
