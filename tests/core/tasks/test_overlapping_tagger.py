"""The per-label tagger of overlapping entities (issue 13): nested spans of two labels survive
features -> targets -> decoding; its loss is the sum of one O/B/I cross-entropy per label;
a tiny trained model predicts nested spans, across windows of a long document, and its
directory loads with plain ``from_pretrained``; exact-match span-set metrics; a project
that does not let entities overlap still trains the BIO tagger."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_models import DRUGS, FILLER, build_tiny_bert, make_ner_docs

from core.engine.alignment import IGNORE_INDEX, bio_tags
from core.engine.metrics import entity_metrics, span_set_metrics
from core.engine.settings import TaskSpec, TrainingSettings
from core.tasks.ner import (
    NER,
    decode_overlapping,
    label_groups,
    ner_features,
    per_label_loss,
    per_label_nll,
    per_label_tags,
)
from core.types import DocumentRecord, EntitySpan, TaskKind

LABELS = ("DRUG", "DOSE")
SPEC = TaskSpec(TaskKind.NER, LABELS, overlapping=True)
WORDS = [w for w in FILLER if w != "dose"]


def nested_doc(rng: random.Random) -> DocumentRecord:
    """"<filler> <drug> dose <filler>": the drug is a DRUG, "<drug> dose" a DOSE around it."""
    left = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    drug = rng.choice(DRUGS)
    right = " ".join(rng.choice(WORDS) for _ in range(2))
    s = len(left) + 1
    return DocumentRecord(f"{left} {drug} dose {right}", spans=(
        EntitySpan(s, s + len(drug), "DRUG"), EntitySpan(s, s + len(drug) + 5, "DOSE")))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("overlap") / "bert", words=["dose"])


@pytest.fixture(scope="module")
def tokenizer(base: Path) -> Any:
    import transformers

    return transformers.AutoTokenizer.from_pretrained(base)


def perfect_logits(feature: Any, n_labels: int) -> np.ndarray:
    """Logits that put each label's gold tag far ahead on every token with targets."""
    out = np.zeros((len(feature), 3 * n_labels), dtype=np.float32)
    for pos, row in enumerate(feature.labels):
        for k, tag in enumerate(row):
            if tag != IGNORE_INDEX:
                out[pos, 3 * k + tag] = 10.0
    return out


# --- features, targets, decoding -------------------------------------------------------


def test_model_labels_are_three_per_label_and_bio_stays_bio() -> None:
    assert NER.model_label_names(SPEC) == ("O-DRUG", "B-DRUG", "I-DRUG", "O-DOSE", "B-DOSE",
                                           "I-DOSE")
    plain = TaskSpec(TaskKind.NER, LABELS)
    assert NER.model_label_names(plain) == bio_tags(LABELS)
    assert NER.config_kwargs(SPEC)["num_labels"] == 6
    assert NER.training_module("model", plain) == "model"  # BIO: transformers' own loss


def test_nested_spans_of_two_labels_survive_features_targets_and_decoding(
    tokenizer: Any,
) -> None:
    text = "the renal cell carcinoma was seen"
    gold = (EntitySpan(4, 24, "DISEASE"), EntitySpan(4, 14, "ANATOMY"),
            EntitySpan(10, 24, "CELL"))  # nested, and CELL overlapping ANATOMY
    spec = TaskSpec(TaskKind.NER, ("DISEASE", "ANATOMY", "CELL"), overlapping=True)
    doc = DocumentRecord(text, spans=gold)
    feats, examples, taggings = ner_features(tokenizer, spec, [doc], max_length=16, stride=4,
                                             with_gold=True)
    assert not taggings[0].dropped
    ex = examples[0]
    words = [text[w.start:w.end] for w in ex.words]
    assert words == ["the", "renal", "cell", "carcinoma", "was", "seen"]
    # Per word one O/B/I id per label: DISEASE B I I, ANATOMY B I, CELL B I.
    assert ex.tag_ids == [(0, 0, 0), (1, 1, 0), (2, 2, 1), (2, 0, 2), (0, 0, 0), (0, 0, 0)]
    assert all(len(row) == 3 for f in feats for row in f.labels)
    assert feats[0].labels[0] == [IGNORE_INDEX] * 3  # [CLS]
    logits = [perfect_logits(f, 3) for f in feats]
    pred = decode_overlapping(spec, text, ex, feats, logits)
    assert {(s.start, s.end, s.label) for s in pred.spans} == {
        (s.start, s.end, s.label) for s in gold}
    # One distribution per word and label.
    assert pred.word_probs.shape == (len(ex.words) * 3, 3)
    assert np.allclose(pred.word_probs.sum(axis=1), 1.0)


def test_long_document_windows_are_stitched_for_the_per_label_tagger(tokenizer: Any) -> None:
    rng = random.Random(3)
    parts = [nested_doc(rng) for _ in range(12)]
    text, spans = "", []
    for p in parts:  # one long document of twelve sentences
        spans += [EntitySpan(s.start + len(text), s.end + len(text), s.label) for s in p.spans]
        text += p.text + " . "
    doc = DocumentRecord(text, spans=tuple(spans))
    feats, examples, _ = ner_features(tokenizer, SPEC, [doc], max_length=24, stride=6,
                                      with_gold=True)
    assert len(feats) > 4  # many windows, none cut off
    pred = decode_overlapping(SPEC, text, examples[0], feats,
                              [perfect_logits(f, 2) for f in feats])
    assert {(s.start, s.end, s.label) for s in pred.spans} == {
        (s.start, s.end, s.label) for s in spans}


def test_same_label_nesting_is_left_out_with_a_warning(tokenizer: Any) -> None:
    text = "renal cell carcinoma"
    doc = DocumentRecord(text, spans=(EntitySpan(0, 20, "DRUG"), EntitySpan(6, 10, "DRUG"),
                                      EntitySpan(0, 10, "DOSE")))
    warnings: list[str] = []
    feats = NER.training_features(tokenizer, SPEC, [doc], max_length=16, stride=4,
                                  warn=warnings.append)
    assert feats and len(warnings) == 1
    assert warnings[0].startswith("1 span(s) overlapping or nested in another of the same label")
    # The outer DRUG and the DOSE are trained: B I I and B I O.
    firsts = [row for row in feats[0].labels if row != [IGNORE_INDEX] * 2]
    assert firsts == [[1, 1], [2, 2], [2, 0]]


def test_two_labels_on_one_extent_keep_the_more_probable(tokenizer: Any) -> None:
    text = "zorblax today"
    doc = DocumentRecord(text, spans=(EntitySpan(0, 7, "DRUG"),))
    feats, examples, _ = ner_features(tokenizer, SPEC, [doc], max_length=16, stride=4,
                                      with_gold=True)
    logits = perfect_logits(feats[0], 2)
    first = next(i for i, row in enumerate(feats[0].labels) if row[0] != IGNORE_INDEX)
    logits[first, 3 + 1] = 8.0  # DOSE's B on the same word, a little less sure
    logits[first, 3 + 0] = 0.0
    pred = decode_overlapping(SPEC, text, examples[0], feats, [logits])
    assert [(s.start, s.end, s.label) for s in pred.spans] == [(0, 7, "DRUG")]


def test_loss_is_the_sum_of_one_cross_entropy_per_label(tokenizer: Any) -> None:
    import torch

    from core.engine.batching import pad_batch

    rng = random.Random(0)
    docs = [nested_doc(rng) for _ in range(3)]
    feats, _, _ = ner_features(tokenizer, SPEC, docs, max_length=32, stride=8, with_gold=True)
    batch = pad_batch(feats, 0, with_targets="ner")
    labels = batch["labels"]
    assert labels.shape == (len(feats), max(len(f) for f in feats), 2)
    torch.manual_seed(0)
    logits = torch.randn(*labels.shape[:2], 6)

    class Fake(torch.nn.Module):
        def forward(self, **inputs: Any) -> Any:
            return type("Out", (), {"logits": logits})()

    loss = per_label_loss(Fake(), label_groups(LABELS))(labels=labels, **{
        k: v for k, v in batch.items() if k != "labels"}).loss
    ce = torch.nn.functional.cross_entropy
    expected = sum(ce(logits[..., 3 * k:3 * k + 3].reshape(-1, 3), labels[..., k].reshape(-1),
                      ignore_index=IGNORE_INDEX) for k in range(2))
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # The dev loss (numpy, over whole inputs) is the same number.
    outputs = [logits[i, :len(f)].numpy() for i, f in enumerate(feats)]
    assert per_label_nll(outputs, [f.labels for f in feats], 2) == pytest.approx(
        float(expected), rel=1e-5)


# --- metrics ---------------------------------------------------------------------------


def test_span_set_metrics_score_overlapping_spans_exactly() -> None:
    gold = [[(0, 20, "DISEASE"), (0, 10, "ANATOMY"), (6, 20, "CELL")], [(0, 4, "DISEASE")]]
    pred = [[(0, 20, "DISEASE"), (0, 10, "CELL"), (6, 20, "CELL")], []]
    m = span_set_metrics(gold, pred)
    assert (m["support"], m["predicted"]) == (4, 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert m["per_label"]["DISEASE"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3,
                                         "support": 2}
    assert m["per_label"]["ANATOMY"]["recall"] == 0.0
    assert m["per_label"]["CELL"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3,
                                      "support": 1}


def test_span_set_metrics_equal_seqeval_without_overlaps() -> None:
    # Words 0..5; gold B-X I-X O B-Y O O; predicted B-X O O B-Y I-Y O.
    gold_tags = [["B-X", "I-X", "O", "B-Y", "O", "O"]]
    pred_tags = [["B-X", "O", "O", "B-Y", "I-Y", "O"]]
    seq = entity_metrics(gold_tags, pred_tags)
    sets = span_set_metrics([[(0, 2, "X"), (3, 4, "Y")]], [[(0, 1, "X"), (3, 5, "Y")]])
    assert (sets["precision"], sets["recall"], sets["f1"]) == (
        seq["precision"], seq["recall"], seq["f1"]) == (0.0, 0.0, 0.0)
    sets = span_set_metrics([[(0, 2, "X"), (3, 4, "Y")]], [[(0, 2, "X"), (3, 5, "Y")]])
    seq = entity_metrics(gold_tags, [["B-X", "I-X", "O", "B-Y", "I-Y", "O"]])
    assert sets["f1"] == pytest.approx(seq["f1"]) == pytest.approx(0.5)


# --- a trained tiny model ----------------------------------------------------------------


def fast(base: Path, **kw: Any) -> TrainingSettings:
    values: dict[str, Any] = {
        "base_model": str(base), "learning_rate": 3e-3, "batch_size": 8, "epochs": 8,
        "max_length": 32, "stride": 8, "patience": 0, "warmup_ratio": 0.0, "device": "cpu",
        "min_steps": 0,
    }
    values.update(kw)
    return TrainingSettings(**values)


@pytest.fixture(scope="module")
def trained(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from core.engine.job import TrainingJob

    rng = random.Random(1)
    docs = [nested_doc(rng) for _ in range(72)]
    out = tmp_path_factory.mktemp("overlap-model") / "m"
    result = TrainingJob(task="ner", labels=LABELS, train=docs[:60], dev=docs[60:],
                         settings=fast(base), output_dir=out, overlapping=True).run()
    assert result.status == "completed", result.reason
    return result, docs[60:]


def test_a_trained_per_label_tagger_predicts_nested_spans(trained: Any) -> None:
    from core.engine.predict import Predictor

    result, dev = trained
    assert result.dev_metrics["f1"] > 0.9, result.dev_metrics
    predictor = Predictor(result.model_path, device="cpu")
    assert predictor.spec.overlapping
    scores = predictor.evaluate(dev)
    assert scores["f1"] == pytest.approx(result.dev_metrics["f1"])
    assert set(scores["per_label"]) == set(LABELS)
    nested = 0
    for doc, pred in zip(dev, predictor.predict(dev)):
        spans = {(s.start, s.end, s.label) for s in pred.spans}  # type: ignore[union-attr]
        gold = {(s.start, s.end, s.label) for s in doc.spans}
        nested += gold <= spans
    assert nested >= len(dev) - 1  # DRUG inside DOSE, both predicted


def test_a_long_document_is_predicted_past_the_first_window(trained: Any) -> None:
    from core.engine.predict import Predictor

    result, dev = trained
    text, spans = "", []
    for p in dev:
        spans += [(s.start + len(text), s.end + len(text), s.label) for s in p.spans]
        text += p.text + " . "
    predictor = Predictor(result.model_path, device="cpu", max_length=32, stride=8)
    pred = predictor.predict([DocumentRecord(text)])[0]
    found = {(s.start, s.end, s.label) for s in pred.spans}  # type: ignore[union-attr]
    assert len(text.split()) > 60  # several windows of 32 tokens
    assert len(found & set(spans)) >= len(spans) - 2
    assert max(s for s, _, _ in found) > len(text) * 0.8  # the end is read too


def test_the_saved_model_loads_with_plain_from_pretrained(trained: Any) -> None:
    import transformers

    result, _ = trained
    path = Path(result.model_path)
    assert (path / "model.safetensors").is_file()
    assert not list(path.glob("*.bin")) and not list(path.glob("*.pkl"))
    model = transformers.AutoModelForTokenClassification.from_pretrained(path)
    assert model.config.num_labels == 6
    assert [model.config.id2label[i] for i in range(6)] == list(per_label_tags(LABELS))
    info = json.loads((path / "annotator.json").read_text("utf-8"))
    assert info["overlapping"] is True and info["labels"] == list(LABELS)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    assert tok.is_fast


# --- the flag flows from the project --------------------------------------------------


@pytest.mark.parametrize("overlapping", [False, True])
def test_the_project_setting_chooses_the_head(base: Path, tmp_path: Path,
                                              overlapping: bool) -> None:
    import transformers

    from core.project import Project
    from core.store import repo
    from core.types import Split

    project = Project.create(tmp_path / "p.db", tasks={"ner": ["DRUG"]})
    docs = make_ner_docs(30)
    with project.write() as session:
        repo.add_documents(session, docs[:24])
        repo.add_documents(session, docs[24:], split=Split.DEV)
        if overlapping:
            repo.set_overlapping_allowed(session, True)
    assert project.training.prepare("ner").spec.overlapping is overlapping
    outcome = project.training.start("ner", fast(base, epochs=2))
    project.close()
    assert outcome.result.status == "completed", outcome.result.reason
    config = transformers.AutoConfig.from_pretrained(outcome.result.model_path)
    names = [config.id2label[i] for i in range(config.num_labels)]
    assert names == (["O-DRUG", "B-DRUG", "I-DRUG"] if overlapping else ["O", "B-DRUG",
                                                                          "I-DRUG"])
    info = json.loads((Path(outcome.result.model_path) / "annotator.json").read_text("utf-8"))
    assert info["overlapping"] is overlapping


def test_a_bio_model_as_the_base_of_a_per_label_tagger_gets_a_fresh_head(
    base: Path, tmp_path: Path,
) -> None:
    """One label: both heads have three outputs, so the shapes alone would keep the BIO
    head's weights under other meanings (B-DRUG read as O-DRUG)."""
    from core.engine.job import TrainingJob
    from core.engine.modelio import load_model

    docs = make_ner_docs(30)
    settings = fast(base, epochs=2)
    bio = TrainingJob(task="ner", labels=["DRUG"], train=docs[:24], dev=docs[24:],
                      settings=settings, output_dir=tmp_path / "bio").run()
    assert bio.status == "completed", bio.reason
    warm = TrainingJob(task="ner", labels=["DRUG"], train=docs[:24], dev=docs[24:],
                       settings=fast(Path(bio.model_path), epochs=1, learning_rate=1e-9),
                       output_dir=tmp_path / "warm", overlapping=True).run()
    assert warm.status == "completed", warm.reason
    assert any("tags one entity per word (BIO)" in w and "starts afresh" in w
               for w in warm.warnings), warm.warnings
    old = load_model(bio.model_path).model.classifier.weight.detach()
    new = load_model(warm.model_path).model.classifier.weight.detach()
    assert old.shape == new.shape == (3, 32)
    assert not np.allclose(old.numpy(), new.numpy(), atol=1e-3)
