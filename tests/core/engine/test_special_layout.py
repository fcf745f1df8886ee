"""Special tokens come from the tokenizer: BERT's ``[CLS] q [SEP] p [SEP]`` and RoBERTa's
``<s> q </s></s> p </s>`` both match what the tokenizer itself builds, and a RoBERTa-layout
encoder trains all three heads."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import build_tiny_roberta, make_class_docs, make_ner_docs, make_qa_docs

from core.engine.features import (
    QaExample,
    encode_qa,
    encode_texts,
    special_template,
    tokenize_contexts,
)
from core.engine.job import TrainingJob
from core.engine.predict import Predictor
from core.engine.settings import TrainingSettings
from core.types import DocumentRecord, Question, TaskKind


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_roberta(tmp_path_factory.mktemp("tiny-roberta") / "model")


def _tokenizer(path: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def test_templates_read_off_the_tokenizers(tiny_bert: Path, tiny_roberta: Path) -> None:
    bert, roberta = _tokenizer(tiny_bert), _tokenizer(tiny_roberta)
    t = special_template(bert)
    cls, sep = bert.cls_token_id, bert.sep_token_id
    assert (t.prefix, t.suffix, t.middle, t.pair_suffix, t.second_type) == (
        (cls,), (sep,), (sep,), (sep,), 1)
    t = special_template(roberta)
    s, e = roberta.convert_tokens_to_ids(["<s>", "</s>"])
    assert (t.prefix, t.suffix, t.middle, t.pair_suffix, t.second_type) == (
        (s,), (e,), (e, e), (e,), 0)


@pytest.mark.parametrize("which", ["bert", "roberta"])
def test_inputs_equal_the_tokenizers_own(which: str, tiny_bert: Path,
                                         tiny_roberta: Path) -> None:
    tokenizer = _tokenizer(tiny_bert if which == "bert" else tiny_roberta)
    question, passage = "what drug was given", "the patient was given zorblax daily"
    contexts = tokenize_contexts(tokenizer, [passage])
    (feature,) = encode_qa(tokenizer, [QaExample(question, 0)], contexts, max_length=64,
                           stride=8, with_targets=False)
    own = tokenizer(question, passage, return_token_type_ids=True)
    assert feature.input_ids == own["input_ids"]
    assert feature.token_type_ids == own["token_type_ids"]
    # content token 0 ("the") sits at content_offset
    assert feature.input_ids[feature.content_offset] == contexts[0].ids[0]
    features, _ = encode_texts(tokenizer, [passage], max_length=64, stride=8)
    assert features[0].input_ids == tokenizer(passage)["input_ids"]


def test_long_passage_windows_keep_the_layout(tiny_roberta: Path) -> None:
    tokenizer = _tokenizer(tiny_roberta)
    t = special_template(tokenizer)
    passage = " ".join(["the patient was given"] * 30)
    contexts = tokenize_contexts(tokenizer, [passage])
    features = encode_qa(tokenizer, [QaExample("what was given", 0)], contexts, max_length=32,
                         stride=8, with_targets=False)
    assert len(features) > 3
    for f in features:
        assert len(f.input_ids) <= 32
        assert tuple(f.input_ids[: len(t.prefix)]) == t.prefix
        assert tuple(f.input_ids[-len(t.pair_suffix):]) == t.pair_suffix
        start, end = f.window
        body = f.input_ids[f.content_offset: f.content_offset + end - start]
        assert body == contexts[0].ids[start:end]


def _settings(base: Path) -> TrainingSettings:
    return TrainingSettings(base_model=str(base), learning_rate=3e-3, batch_size=8, epochs=6,
                            max_length=32, stride=8, patience=0, warmup_ratio=0.0,
                            device="cpu")


def test_roberta_layout_encoder_trains_every_head(tiny_roberta: Path, tmp_path: Path) -> None:
    runs = {
        "ner": (["DRUG"], make_ner_docs(80)),
        "classify": (["neg", "pos"], make_class_docs(60)),
        "qa": (["answer"], make_qa_docs(80)),
    }
    results = {}
    for task, (labels, docs) in runs.items():
        result = TrainingJob(task=TaskKind(task), labels=labels, train=docs,
                             settings=_settings(tiny_roberta),
                             output_dir=tmp_path / task).run()
        assert result.status == "completed", (task, result.reason)
        results[task] = result
    assert results["ner"].dev_metrics["f1"] > 0.9
    assert results["classify"].dev_metrics["accuracy"] > 0.9
    assert results["qa"].dev_metrics["f1"] > 80
    text = "the nurse was given melovate today"
    doc = DocumentRecord(text=text, questions=(Question("what drug was given"),))
    (pred,) = Predictor(results["qa"].model_path, device="cpu").predict([doc])
    assert pred.answers[0].text == "melovate"
