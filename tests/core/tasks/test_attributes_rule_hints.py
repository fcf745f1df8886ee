"""Rule hints of the attribute head (core.tasks.attributes.RULE_HINTS): what the NegEx /
ConText rules (core.negex) say of an entity in its sentence, as hint tokens after [CLS].
The hints come from the entity's own sentence, the inputs carry them and still point at
[E], a model trained with them says so in its config and reads them again at prediction,
and a model without the key reads none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_attributes_pooled import predicted_fresh, span_head_from_file, train_with
from tiny_models import build_tiny_bert

from core.engine.settings import TaskSpec
from core.segment import segment
from core.tasks import attributes
from core.types import DocumentRecord, EntitySpan, TaskKind

LABELS = ("negation=Affirmed", "negation=Negated", "frequency=Daily", "frequency=Today")
SPEC = TaskSpec(task=TaskKind.ATTRIBUTE, labels=LABELS)
NEG, HIST, HYP = attributes.RULE_HINT_TOKENS


def _hints(text: str, word: str) -> list[str]:
    at = text.index(word)
    return attributes.rule_hints(text, segment(text), EntitySpan(at, at + len(word), "C"))


@pytest.mark.parametrize(("text", "word", "expected"), [
    ("Chest film shows no evidence of pneumonia.", "pneumonia", [NEG]),
    ("She has a history of asthma.", "asthma", [HIST]),
    ("Return to the clinic if fever develops.", "fever", [HYP]),
    ("He denies any prior stroke.", "stroke", [NEG, HIST]),
    ("Cough and fever since Monday.", "fever", []),
])
def test_rule_hints_say_what_the_rules_say_of_the_entity(text: str, word: str,
                                                         expected: list[str]) -> None:
    assert _hints(text, word) == expected


def test_rule_hints_read_the_entity_s_own_sentence() -> None:
    text = ("No evidence of pneumonia on the film. The patient reports chest pain today. "
            "History of asthma.")
    assert _hints(text, "pneumonia") == [NEG]
    assert _hints(text, "chest pain") == []  # the "no" and "history" of the others stay there
    assert _hints(text, "asthma") == [HIST]


def test_an_entity_of_white_space_alone_gets_no_hints() -> None:
    text = "No fever   seen."
    at = text.index("   ")
    assert attributes.rule_hints(text, segment(text), EntitySpan(at, at + 3, "C")) == []


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("rule-hints-bert") / "bert")


def _tokenizer(bert: Path, *, hints: bool = True) -> Any:
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(bert)
    tok.add_tokens(list(attributes.MARKERS) + (list(attributes.RULE_HINT_TOKENS) if hints
                                                else []), special_tokens=True)
    return tok


def test_hinted_inputs_carry_the_hints_after_cls_and_still_point_at_the_marker(
    bert: Path,
) -> None:
    tok = _tokenizer(bert)
    text = "history of zorblaxes daily . no quintarin today"
    first = EntitySpan(11, 20, "DRUG", {"negation": "Affirmed", "frequency": "Daily"})
    second = EntitySpan(32, 41, "DRUG", {"negation": "Negated"})
    doc = DocumentRecord(text, spans=(first, second))
    hinted, _ = attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=True,
                                           representation="entity_start", hints="tokens")
    plain, _ = attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=True,
                                          representation="entity_start")
    start_id = tok.convert_tokens_to_ids(attributes.ENTITY_START)
    for f, p, hint in ((hinted[0], plain[0], HIST), (hinted[1], plain[1], NEG)):
        hint_id = tok.convert_tokens_to_ids(hint)
        # [CLS], the hint, then the plain input after its [CLS]
        assert f.input_ids == [p.input_ids[0], hint_id, *p.input_ids[1:]]
        assert f.input_ids[f.start_position] == start_id
        assert f.start_position == p.start_position + 1
        assert f.labels[:2] == p.labels[:2]  # the same values


def test_hint_words_stand_before_a_separator_and_only_where_the_rules_found_something(
    bert: Path,
) -> None:
    tok = _tokenizer(bert, hints=False)
    text = "history of zorblaxes daily . quintarin today"
    first = EntitySpan(11, 20, "DRUG", {"negation": "Affirmed"})
    second = EntitySpan(28, 37, "DRUG", {"negation": "Affirmed"})
    doc = DocumentRecord(text, spans=(first, second))
    words, _ = attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=True,
                                          representation="entity_start", hints="words")
    plain, _ = attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=True,
                                          representation="entity_start")
    hint = tok("historical", add_special_tokens=False)["input_ids"]
    sep = [tok.sep_token_id]
    assert words[0].input_ids == [plain[0].input_ids[0], *hint, *sep, *plain[0].input_ids[1:]]
    assert words[0].start_position == plain[0].start_position + len(hint) + 1
    assert words[1].input_ids == plain[1].input_ids  # no trigger governs "quintarin"
    with pytest.raises(ValueError, match="rule hints 'both'"):
        attributes.entity_features(tok, SPEC, [doc], max_length=64, with_gold=False,
                                   representation="entity_start", hints="both")


def test_hints_count_in_the_input_length(bert: Path) -> None:
    tok = _tokenizer(bert)
    text = ("on the film " + " ".join(["word"] * 30) + " there is no pneumonia "
            + " ".join(["word"] * 30))
    at = text.index("pneumonia")
    doc = DocumentRecord(text, spans=(EntitySpan(at, at + 9, "C", {"negation": "Negated"}),))
    (f,), _ = attributes.entity_features(tok, SPEC, [doc], max_length=24, with_gold=False,
                                         representation="entity_start", hints="tokens")
    assert len(f.input_ids) == 24
    assert tok.convert_ids_to_tokens(f.input_ids[1]) == NEG


def test_a_tokenizer_without_the_hint_tokens_is_refused(bert: Path) -> None:
    tok = _tokenizer(bert, hints=False)
    doc = DocumentRecord("no fever", spans=(EntitySpan(3, 8, "C", {"negation": "Negated"}),))
    with pytest.raises(ValueError, match="rule hint tokens"):
        attributes.entity_features(tok, SPEC, [doc], max_length=32, with_gold=False,
                                   representation="entity_start", hints="tokens")


@pytest.fixture(scope="module")
def hinted_project(bert: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    mp = pytest.MonkeyPatch()
    mp.setattr(attributes, "RULE_HINTS", "tokens")
    try:
        return train_with(bert, tmp_path_factory.mktemp("rule-hints"), "entity_start")
    finally:
        mp.undo()


def test_a_model_trained_with_hints_says_so_and_reads_them_at_prediction(
    hinted_project: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np
    import torch
    import transformers

    from core.engine.predict import Predictor

    _, outcome = hinted_project
    head = outcome.attributes
    assert head is not None and head.result.status == "completed", head and head.result.reason
    model_dir = Path(head.result.model_path)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config[attributes.RULE_HINTS_KEY] == "tokens"
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert tok.unk_token_id not in tok.convert_tokens_to_ids(list(attributes.RULE_HINT_TOKENS))

    # With the switch off, the saved model's config decides.
    monkeypatch.setattr(attributes, "RULE_HINTS", None)
    predictor = Predictor.load(model_dir, device="cpu", precision="fp32")
    assert attributes.reads_rule_hints(predictor.loaded.model) == "tokens"
    fresh, preds = predicted_fresh(predictor)
    negated = next(i for i, d in enumerate(fresh)
                   if d.spans[0].attributes["negation"] == "Negated")
    doc = fresh[negated]
    (f,), _ = attributes.entity_features(tok, SPEC, [doc], max_length=32, with_gold=False,
                                         representation="entity_start", hints="tokens")
    plain = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    linear = span_head_from_file(model_dir)
    with torch.inference_mode():
        h = plain.base_model(input_ids=torch.tensor([f.input_ids])).last_hidden_state[0]
        logits = linear(torch.cat([h[0], h[f.start_position]]))
    probs = torch.softmax(logits[:2], -1).numpy()
    got = {v.attribute: v for v in preds[negated].values}["negation"].probabilities
    assert np.allclose(probs, [got["Affirmed"], got["Negated"]], atol=1e-5)


def test_a_model_trained_without_hints_reads_none(
    bert: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import transformers

    monkeypatch.setattr(attributes, "RULE_HINTS", None)
    _, outcome = train_with(bert, tmp_path_factory.mktemp("no-hints"), "entity_start")
    model_dir = Path(outcome.attributes.result.model_path)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config[attributes.RULE_HINTS_KEY] is None
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert tok.convert_tokens_to_ids(NEG) == tok.unk_token_id
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert attributes.reads_rule_hints(model) is None
