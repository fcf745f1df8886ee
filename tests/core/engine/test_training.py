"""Training jobs on a tiny random BERT: every head learns, failures end with a reason,
model directories round-trip, long documents are windowed (never cut)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_models import (
    BAD,
    DRUGS,
    FILLER,
    GOOD,
    build_tiny_bert,
    make_class_docs,
    make_ner_docs,
    make_qa_docs,
)

from core.engine.job import TrainingJob, split_dev
from core.engine.modelio import load_model
from core.engine.predict import Predictor
from core.engine.results import (
    ClassPrediction,
    EntityPrediction,
    EpochEvent,
    FinishedEvent,
    ProgressEvent,
    QuestionsPrediction,
    WarningEvent,
)
from core.engine.settings import TrainingSettings, preset_settings, resolve_base_model
from core.errors import ModelError, TrainingError
from core.types import Answer, DocumentRecord, EntitySpan, Question, TaskKind


def fast(base: Path, **kw: Any) -> TrainingSettings:
    values: dict[str, Any] = dict(
        base_model=str(base), learning_rate=3e-3, batch_size=8, epochs=6, max_length=32,
        stride=8, patience=0, warmup_ratio=0.0, device="cpu",
    )
    values.update(kw)
    return TrainingSettings(**values)


def run_job(tmp_path: Path, **kw: Any) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    job = TrainingJob(output_dir=tmp_path / "model", on_event=events.append, **kw)
    return job.run(), events


@pytest.fixture(scope="module")
def ner_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list]:
    out = tmp_path_factory.mktemp("ner")
    return run_job(out, task="ner", labels=["DRUG"], train=make_ner_docs(80),
                   settings=fast(tiny_bert))


def test_ner_trains_reduces_loss_and_reports_events(ner_model: tuple[Any, list]) -> None:
    result, events = ner_model
    assert result.status == "completed", result.reason
    losses = [row.train_loss for row in result.epochs]
    assert losses[-1] < losses[0] * 0.5
    assert result.dev_metrics["f1"] > 0.9
    steps = [e for e in events if isinstance(e, ProgressEvent)]
    assert steps[-1].step == steps[-1].total_steps == result.steps
    assert all(e.eta_seconds >= 0 and e.learning_rate >= 0 for e in steps)
    assert steps[0].learning_rate > 0
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5, 6]
    assert {"precision", "recall", "f1", "accuracy", "per_label"} <= set(epochs[-1].metrics)
    assert isinstance(events[-1], FinishedEvent) and events[-1].result is result
    assert result.tokens_per_second > 0


def test_ner_predictions_map_back_to_original_offsets(ner_model: tuple[Any, list]) -> None:
    result, _ = ner_model
    predictor = Predictor(result.model_path, device="cpu")
    text = "Nurse notes:\r\n  the patient 👍 was given \tQUINTARIN daily, no pain."
    doc = DocumentRecord(text=text)
    (pred,) = predictor.predict([doc])
    assert isinstance(pred, EntityPrediction)
    assert [(s.label, text[s.start:s.end]) for s in pred.spans] == [("DRUG", "QUINTARIN")]
    span = pred.spans[0]
    assert 0.5 < span.confidence <= 1.0 and span.text == "QUINTARIN"
    assert pred.word_probs.shape == (len(pred.word_offsets), 3)
    assert np.allclose(pred.word_probs.sum(axis=1), 1.0, atol=1e-5)
    assert pred.entropy.shape == pred.max_prob.shape == (len(pred.word_offsets),)
    # Input order is kept while batches are sorted by length.
    docs = [DocumentRecord(text="zorblax " * n) for n in (1, 9, 3)]
    preds = predictor.predict(docs, batch_size=2)
    # (Neighbouring DRUG words are one entity: the last one ends where its text does.)
    assert [p.spans[-1].end for p in preds] == [len(d.text) - 1 for d in docs]
    greedy = Predictor(result.model_path, device="cpu", viterbi=False).predict([doc])[0]
    assert [(s.start, s.end) for s in greedy.spans] == [(span.start, span.end)]
    vectors = predictor.embed([doc, docs[1]])
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32


def test_classes_train(tiny_bert: Path, tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, task="classify", labels=["pos", "neg"],
                        train=make_class_docs(80), settings=fast(tiny_bert, epochs=8))
    assert result.status == "completed", result.reason
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss
    assert result.dev_metrics["accuracy"] == 1.0
    assert set(result.dev_metrics["per_label"]) == {"pos", "neg"}
    (pred,) = Predictor(result.model_path, device="cpu").predict(
        [DocumentRecord(text="great lovely happy good day")])
    assert isinstance(pred, ClassPrediction) and pred.labels == ("pos",)
    assert sum(pred.probabilities.values()) == pytest.approx(1.0)


def _two_label_docs(n: int, seed: int) -> list[tuple[str, bool, bool]]:
    """(text, positive, has_drugs): sentiment from four GOOD/BAD words, and independently of
    it, four drug names or four filler words; single-label training learns either alone."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        positive, drugs = i % 2 == 0, (i // 2) % 2 == 0
        words = [rng.choice(GOOD if positive else BAD) for _ in range(4)]
        words += [rng.choice(DRUGS if drugs else FILLER) for _ in range(4)]
        rng.shuffle(words)
        out.append((" ".join(words), positive, drugs))
    return out


@pytest.fixture(scope="module")
def multi_label_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    docs = [DocumentRecord(text=t, classes=("pos" if p else "neg",) + (("x",) if x else ()))
            for t, p, x in _two_label_docs(60, seed=0)]
    result, _ = run_job(tmp_path_factory.mktemp("multi"), task="classify",
                        labels=["pos", "neg", "x"], train=docs, multi_label=True,
                        settings=fast(tiny_bert, epochs=8))
    assert result.status == "completed", result.reason
    held_out = _two_label_docs(20, seed=5)
    preds = Predictor(result.model_path, device="cpu").predict(
        [DocumentRecord(text=t) for t, _, _ in held_out])
    return result, held_out, preds


def test_multi_label_classes_train(multi_label_model: Any) -> None:
    result, held_out, preds = multi_label_model
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss
    loaded = load_model(result.model_path)
    assert loaded.model.config.problem_type == "multi_label_classification"
    # pos/neg is learned: right on every held-out document.
    assert [("pos" in p.labels, "neg" in p.labels) for p in preds] == [
        (positive, not positive) for _, positive, _ in held_out]
    # Independent sigmoids, one per label (a softmax would sum to 1).
    for p in preds:
        assert set(p.probabilities) == {"pos", "neg", "x"}
        assert all(0 <= v <= 1 for v in p.probabilities.values())
    assert any(abs(sum(p.probabilities.values()) - 1.0) > 0.05 for p in preds)


@pytest.mark.xfail(strict=True, reason=(
    "multi-label head does not learn a second, independent label on the tiny model: 'x' is "
    "right on 50% of held-out documents (its probability stays 0.5), where single-label "
    "training on the same texts learns it to 100%, alone or crossed with pos/neg as four "
    "classes (the controls below). Measured: the tiny encoder's tanh pooler saturates on "
    "pos/neg within ~6 epochs (pooled values at +-1, two distinct outputs for 20 held-out "
    "texts), after which no gradient reaches the 'x' direction; unchanged at lr 1e-3, 3e-3, "
    "1e-2 and 40 epochs. Not seen with the default encoder (tests marked slow)"))
def test_multi_label_learns_an_independent_second_label(multi_label_model: Any) -> None:
    _, held_out, preds = multi_label_model
    right = sum(("x" in p.labels) == drugs for p, (_, _, drugs) in zip(preds, held_out))
    assert right >= 0.9 * len(held_out)


def test_single_label_learns_the_second_label_alone(tiny_bert: Path, tmp_path: Path) -> None:
    """The control of the xfail above: the drug-or-filler signal is learnable by this model."""
    docs = [DocumentRecord(text=t, classes=("x" if x else "none",))
            for t, _, x in _two_label_docs(60, seed=0)]
    result, _ = run_job(tmp_path, task="classify", labels=["x", "none"], train=docs,
                        settings=fast(tiny_bert, epochs=8))
    held_out = _two_label_docs(20, seed=5)
    preds = Predictor(result.model_path, device="cpu").predict(
        [DocumentRecord(text=t) for t, _, _ in held_out])
    assert [p.labels == ("x",) for p in preds] == [x for _, _, x in held_out]


def test_single_label_learns_both_signals_crossed(tmp_path: Path) -> None:
    """The second control: the encoder can hold both signals at once (four classes). The
    tiny encoder has no dropout here: whether it finds both signals in 12 epochs hangs on
    the random stream, and the control is of the encoder, not of dropout's draws."""
    def name(positive: bool, drugs: bool) -> str:
        return ("pos" if positive else "neg") + ("+x" if drugs else "")

    base = build_tiny_bert(tmp_path / "bert", dropout=0.0)
    docs = [DocumentRecord(text=t, classes=(name(p, x),)) for t, p, x in _two_label_docs(60, 0)]
    result, _ = run_job(tmp_path, task="classify", labels=["pos", "neg", "pos+x", "neg+x"],
                        train=docs, dev=[], settings=fast(base, epochs=12))
    held_out = _two_label_docs(20, seed=5)
    preds = Predictor(result.model_path, device="cpu").predict(
        [DocumentRecord(text=t) for t, _, _ in held_out])
    assert [p.labels for p in preds] == [(name(p, x),) for _, p, x in held_out]


def test_answers_train(tiny_bert: Path, tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, task="qa", labels=["answer"], train=make_qa_docs(80),
                        settings=fast(tiny_bert))
    assert result.status == "completed", result.reason
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss * 0.5
    assert result.dev_metrics["f1"] > 80
    text = "\tthe nurse 😀 was given Melovate today"
    doc = DocumentRecord(text=text, questions=(Question("what drug was given"),))
    (pred,) = Predictor(result.model_path, device="cpu").predict([doc])
    assert isinstance(pred, QuestionsPrediction)
    (answer,) = pred.answers
    assert answer.text == "Melovate" and text[answer.start:answer.end] == "Melovate"
    assert 0 < answer.probability <= 1 and not answer.no_answer


def test_cancel_ends_the_run_as_cancelled(tiny_bert: Path, tmp_path: Path) -> None:
    job: TrainingJob

    def on_event(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.step == 2:
            job.cancel()

    job = TrainingJob(task="ner", labels=["DRUG"], train=make_ner_docs(60),
                      settings=fast(tiny_bert), output_dir=tmp_path / "m", on_event=on_event)
    thread = job.start()
    assert isinstance(thread, threading.Thread)
    result = job.join(timeout=60)
    assert result is not None and result.status == "cancelled"
    assert result.steps == 2
    assert not (tmp_path / "m").exists()


def test_nan_loss_fails_with_a_reason(tiny_bert: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import BertForTokenClassification

    original = BertForTokenClassification.forward

    def nan_forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if out.loss is not None:
            out.loss = out.loss * torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(BertForTokenClassification, "forward", nan_forward)
    result, _ = run_job(tmp_path, task="ner", labels=["DRUG"], train=make_ner_docs(30),
                        settings=fast(tiny_bert))
    assert result.status == "failed"
    assert "nan" in result.reason.lower() and "learning rate" in result.reason
    assert not (tmp_path / "model").exists()


def test_out_of_memory_fails_with_a_reason(tiny_bert: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import BertForSequenceClassification

    def oom(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(BertForSequenceClassification, "forward", oom)
    result, _ = run_job(tmp_path, task="classify", labels=["pos", "neg"],
                        train=make_class_docs(30), settings=fast(tiny_bert))
    assert result.status == "failed"
    assert "out of memory" in result.reason and "batch size" in result.reason


def test_bad_label_fails_with_a_reason(tiny_bert: Path, tmp_path: Path) -> None:
    docs = make_ner_docs(10) + [DocumentRecord(text="x y", external_id="odd",
                                               spans=(EntitySpan(0, 1, "DOSE"),))]
    result, _ = run_job(tmp_path, task="ner", labels=["DRUG"], train=docs,
                        settings=fast(tiny_bert))
    assert result.status == "failed"
    assert "bad labels" in result.reason and "'DOSE'" in result.reason and "odd" in result.reason


def test_missing_base_model_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TrainingError, match="offline"):
        resolve_base_model("someone/not-a-model")
    with pytest.raises(TrainingError, match="does not exist"):
        resolve_base_model(str(tmp_path / "nowhere" / "model"))
    result, _ = run_job(tmp_path, task="ner", labels=["DRUG"], train=make_ner_docs(10),
                        settings=fast(Path("someone/not-a-model")))
    assert result.status == "failed" and "offline" in result.reason


def test_guards_warn_about_too_little_data(tiny_bert: Path, tmp_path: Path) -> None:
    result, events = run_job(tmp_path, task="ner", labels=["DRUG", "DOSE"],
                             train=make_ner_docs(4), settings=fast(tiny_bert, epochs=1))
    assert result.status == "completed", result.reason
    text = " | ".join(result.warnings)
    assert "only 4 labelled" in text and "'DOSE' (0)" in text and "no dev documents" in text
    assert [e.message for e in events if isinstance(e, WarningEvent)] == list(result.warnings)


def test_labels_with_fewer_than_ten_examples_are_named(tiny_bert: Path, tmp_path: Path) -> None:
    docs = make_class_docs(40, seed=6)
    rare = [DocumentRecord(text=d.text, classes=("rare",)) for d in docs[:9]]
    result, _ = run_job(tmp_path, task="classify", labels=["neg", "pos", "rare"],
                        train=docs + rare, settings=fast(tiny_bert, epochs=1))
    assert result.status == "completed", result.reason
    (line,) = [w for w in result.warnings if "fewer than 10 examples" in w]
    assert "'rare' (9)" in line and "'neg'" not in line and "'pos'" not in line


def test_weak_labels_warning_names_labels_never_right_on_dev() -> None:
    from core.engine.inference import weak_labels_warning
    from core.engine.metrics import classification_metrics, entity_metrics
    from core.engine.settings import TaskSpec

    spec = TaskSpec(task=TaskKind.CLASSIFY, labels=("a", "b", "c"))
    gold = [("a",), ("a",), ("b",), ("c",), ("c",)]
    learned_a_b = classification_metrics(gold, [("a",), ("a",), ("b",), ("a",), ("b",)],
                                         spec.labels)
    message = weak_labels_warning(spec, learned_a_b)
    assert message and "'c' (2 dev examples)" in message
    assert "'a'" not in message and "'b'" not in message
    assert weak_labels_warning(spec, classification_metrics(gold, gold, spec.labels)) is None
    # nothing learned at all is collapse_warning's case, not this one
    nothing = classification_metrics(gold, [("b",), ("b",), ("c",), ("a",), ("a",)],
                                     spec.labels)
    assert weak_labels_warning(spec, nothing) is None

    ner = TaskSpec(task=TaskKind.NER, labels=("DRUG", "DOSE"))
    gold_tags = [["B-DRUG", "O", "B-DOSE"], ["B-DRUG", "I-DRUG"]]
    pred_tags = [["B-DRUG", "O", "O"], ["B-DRUG", "I-DRUG"]]
    message = weak_labels_warning(ner, entity_metrics(gold_tags, pred_tags))
    assert message and "'DOSE' (1 dev example)" in message and "DRUG'" not in message


def test_collapsed_model_is_flagged(tiny_bert: Path, tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, task="ner", labels=["DRUG"], train=make_ner_docs(40),
                        settings=fast(tiny_bert, epochs=1, learning_rate=1e-6))
    assert result.status == "completed"
    # A barely trained model either predicts nothing or scores F1 0; both are flagged.
    assert any(("no entity at all" in w or "F1 is 0" in w) and "more epochs" in w
               for w in result.warnings), result.warnings


def test_model_directory_round_trip(ner_model: tuple[Any, list]) -> None:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    result, _ = ner_model
    path = Path(result.model_path)
    assert (path / "model.safetensors").is_file()
    assert not list(path.glob("*.bin")) and not list(path.parent.glob(".*partial"))
    info = json.loads((path / "annotator.json").read_text())
    assert info["task"] == "ner" and info["labels"] == ["DRUG"]
    assert info["settings"]["learning_rate"] == 3e-3 and "created" in info
    plain = AutoModelForTokenClassification.from_pretrained(path)
    assert plain.config.id2label == {0: "O", 1: "B-DRUG", 2: "I-DRUG"}
    assert AutoTokenizer.from_pretrained(path).is_fast


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_tampered_or_incomplete_models_are_refused(ner_model: tuple[Any, list],
                                                    tmp_path: Path) -> None:
    src = Path(ner_model[0].model_path)
    flipped = _copy(src, tmp_path / "flipped")
    data = bytearray((flipped / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (flipped / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="truncated or was altered"):
        load_model(flipped)
    cut = _copy(src, tmp_path / "cut")
    (cut / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        load_model(cut)
    pickle = _copy(src, tmp_path / "pickle")
    (pickle / "model.safetensors").rename(pickle / "pytorch_model.bin")
    with pytest.raises(ModelError, match="only safetensors"):
        load_model(pickle)
    no_tok = _copy(src, tmp_path / "no-tok")
    for f in no_tok.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(ModelError, match="tokenizer"):
        load_model(no_tok)
    relabel = _copy(src, tmp_path / "relabel")
    info = json.loads((relabel / "annotator.json").read_text())
    info["labels"] = ["DOSE"]
    (relabel / "annotator.json").write_text(json.dumps(info))
    with pytest.raises(ModelError, match="do not match"):
        load_model(relabel)
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "absent")


def test_warm_start_with_changed_labels_reinitialises_the_head(
    ner_model: tuple[Any, list], tmp_path: Path
) -> None:
    previous = ner_model[0].model_path
    result, _ = run_job(tmp_path, task="ner", labels=["DRUG", "DOSE"],
                        train=make_ner_docs(30), settings=fast(Path(previous), epochs=1))
    assert result.status == "completed", result.reason
    assert any("label set changed" in w for w in result.warnings)
    same, _ = run_job(tmp_path / "same", task="ner", labels=["DRUG"], train=make_ner_docs(30),
                      settings=fast(Path(previous), epochs=1))
    assert not any("label set changed" in w for w in same.warnings)
    assert same.epochs[0].metrics["f1"] > 0.9  # the head was kept


# --- long documents: nothing is cut --------------------------------------------------------


def _long_text(n_words: int, inserts: dict[int, str]) -> tuple[str, dict[int, int]]:
    words = [FILLER[i % len(FILLER)] for i in range(n_words)]
    for k, w in inserts.items():
        words[k] = w
    text = " ".join(words)
    starts, pos = {}, 0
    for i, w in enumerate(words):
        starts[i] = pos
        pos += len(w) + 1
    return text, starts


def test_long_document_entity_and_answer_after_token_2000(
    ner_model: tuple[Any, list], tiny_bert: Path, tmp_path: Path
) -> None:
    # 2,600 words of filler, each one sub-word: the drug sits at token 2,400 (>2,000), far
    # beyond the 32-token window; a truncating engine would never see it.
    text, starts = _long_text(2600, {2400: "zorblax"})
    predictor = Predictor(ner_model[0].model_path, device="cpu")
    tok = predictor.loaded.tokenizer
    assert len(tok(text, add_special_tokens=False)["input_ids"]) == 2600
    (pred,) = predictor.predict([DocumentRecord(text=text)])
    assert [(s.start, s.end) for s in pred.spans] == [(starts[2400], starts[2400] + 7)]
    assert len(pred.word_offsets) == 2600

    qa_result, _ = run_job(tmp_path, task="qa", labels=["answer"], train=make_qa_docs(80),
                           settings=fast(tiny_bert))
    assert qa_result.status == "completed", qa_result.reason
    qa_text, qa_starts = _long_text(2600, {2300: "drapsil"})
    doc = DocumentRecord(text=qa_text, questions=(Question("what drug was given"),))
    (qa_pred,) = Predictor(qa_result.model_path, device="cpu").predict([doc])
    answer = qa_pred.answers[0]
    assert (answer.start, answer.end) == (qa_starts[2300], qa_starts[2300] + 7)


def test_window_merge_uses_the_most_central_window(tiny_bert: Path) -> None:
    """An oracle model whose logit for B-DRUG is the token's distance to the window edge:
    the merged per-word probability must come from the window where it is most central."""
    import torch
    from transformers import AutoTokenizer

    from core.engine.inference import InferenceOptions, predict_documents
    from core.engine.settings import TaskSpec

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)

    class Oracle(torch.nn.Module):
        config = type("C", (), {"type_vocab_size": 2, "model_type": "bert"})()

        def forward(self, input_ids: Any, attention_mask: Any, **_: Any) -> Any:
            n, length = input_ids.shape
            real = attention_mask.sum(dim=1, keepdim=True)
            pos = torch.arange(length).expand(n, length)
            centrality = torch.minimum(pos - 1, real - 2 - pos).clamp(min=0).float()
            logits = torch.zeros(n, length, 3)
            logits[..., 1] = centrality  # B-DRUG
            return type("Out", (), {"logits": logits, "loss": None})()

    text, _ = _long_text(300, {})
    spec = TaskSpec(TaskKind.NER, ("DRUG",))
    options = InferenceOptions(max_length=32, stride=10, batch_size=4)
    (pred,), _ = predict_documents(Oracle(), tokenizer, spec, [DocumentRecord(text=text)],
                                   options, torch.device("cpu"))
    from core.engine.windows import centrality, most_central_window, window_bounds

    bounds = window_bounds(300, 30, 10)
    expected = []
    for p in range(300):
        start, end = bounds[most_central_window(p, bounds)]
        expected.append(centrality(p, start, end))
    got = np.log(pred.word_probs[:, 1] / pred.word_probs[:, 0])
    assert np.allclose(got, expected, atol=1e-4)
    assert min(expected[5:-5]) >= 5  # every inner word was seen away from a window edge


# --- settings and splits ----------------------------------------------------------------


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        TrainingSettings(learning_rate=0)
    with pytest.raises(ValueError, match="epochs"):
        TrainingSettings(epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        TrainingSettings(batch_size=0)
    with pytest.raises(ValueError, match="stride"):
        TrainingSettings(max_length=64, stride=40)
    seed = preset_settings("seed-002", "ner")
    assert (seed.learning_rate, seed.batch_size, seed.epochs, seed.scheduler) == (
        2e-5, 8, 3, "linear")
    assert (seed.adam_beta1, seed.adam_beta2, seed.adam_epsilon, seed.seed) == (
        0.9, 0.999, 1e-8, 42)
    assert seed.weight_decay == 0 and seed.warmup_ratio == 0
    assert preset_settings("default", "qa").max_length == 384
    assert TrainingSettings.from_dict(seed.to_dict()) == seed


def test_dev_split_is_stable_and_seeded() -> None:
    docs = [DocumentRecord(text=f"doc {i}", doc_id=i) for i in range(200)]
    train, dev = split_dev(docs, 0.15, seed=42)
    assert 15 <= len(dev) <= 45 and len(train) + len(dev) == 200
    again = split_dev(list(reversed(docs)) + [DocumentRecord(text="new", doc_id=999)], 0.15, 42)
    assert {d.doc_id for d in dev} <= {d.doc_id for d in again[1]}
    assert not {d.doc_id for d in dev} & {d.doc_id for d in train}
    assert split_dev(docs[:3], 0.15, 42) == (docs[:3], [])


def test_unanswerable_questions_train_the_no_answer_head(tiny_bert: Path, tmp_path: Path) -> None:
    docs = make_qa_docs(40)
    docs += [DocumentRecord(text=" ".join(FILLER[:10]),
                            questions=(Question("what drug was given", is_impossible=True),))
             for _ in range(20)]
    result, _ = run_job(tmp_path, task="qa", labels=["answer"], train=docs,
                        settings=fast(tiny_bert, epochs=8))
    assert result.status == "completed", result.reason
    predictor = Predictor(result.model_path, device="cpu")
    assert predictor.spec.allow_no_answer
    text = " ".join(FILLER[:10])
    (pred,) = predictor.predict([DocumentRecord(text=text, questions=(
        Question("what drug was given"), Question("what drug was given")))])
    # No drug in the context: the [CLS] head wins for both questions.
    assert len(pred.answers) == 2 and all(a.no_answer for a in pred.answers), pred.answers
    assert all(a.no_answer_score > a.score for a in pred.answers)
    answered = DocumentRecord(text=f"given {DRUGS[0]} today", questions=(
        Question("what drug was given", (Answer(6, 6 + len(DRUGS[0])),)),))
    (pred,) = predictor.predict([answered])
    # ... and a drug in the context is still answered, not swallowed by the no-answer head.
    assert not pred.answers[0].no_answer and pred.answers[0].text == DRUGS[0]
    unanswerable = DocumentRecord(text=text, questions=(
        Question("what drug was given", is_impossible=True),))
    metrics = predictor.evaluate([answered, unanswerable])
    assert metrics["support"] == 2
    assert metrics["per_label"]["no_answer"] == {"exact_match": 100.0, "f1": 100.0, "support": 1}
    assert metrics["per_label"]["has_answer"]["exact_match"] == 100.0


def test_small_data_trains_for_at_least_min_steps(tiny_bert: Path, tmp_path: Path) -> None:
    """A dozen examples at batch 16 is one batch an epoch: the run takes more epochs so that
    it is not three optimizer steps of training (and says so in its log)."""
    from core.engine.job import TrainingJob
    from core.engine.settings import TrainingSettings

    settings = TrainingSettings(base_model=str(tiny_bert), epochs=3, batch_size=16,
                                min_steps=12, max_epochs=20, patience=1, max_length=64,
                                stride=16, device="cpu")
    docs = make_ner_docs(12)
    result = TrainingJob(task="ner", labels=["DRUG"], train=docs, dev=make_ner_docs(4, seed=9),
                         settings=settings, output_dir=tmp_path / "m").run()
    assert result.status == "completed", result.reason
    # Patience 1 may stop the run only once the floor of 12 steps is reached.
    assert len(result.epochs) >= 12
    assert any("small training set" in line for line in result.log)


def test_explicit_epochs_switch_min_steps_off() -> None:
    from core.engine.settings import preset_settings

    assert preset_settings("default", "ner").min_steps > 0
    assert preset_settings("default", "ner", epochs=3).min_steps == 0


@pytest.mark.parametrize("average_last", [0, 3])
def test_tail_averaging_keeps_what_scores_best_on_dev(tiny_bert: Path, tmp_path: Path,
                                                       average_last: int) -> None:
    docs = make_class_docs(48, seed=3)
    result, _ = run_job(tmp_path, task="classify", labels=["neg", "pos"], train=docs[:36],
                        dev=docs[36:],
                        settings=fast(tiny_bert, epochs=4, learning_rate=2e-3,
                                      average_last=average_last))
    assert result.status == "completed", result.reason
    lines = [line for line in result.log if line.startswith("mean of the weights")]
    if average_last:
        (line,) = lines
        assert "epochs 2-4" in line
        assert result.averaged_epochs in ((), (2, 3, 4))
        assert ("kept the mean" in line) == bool(result.averaged_epochs)
    else:
        assert not lines and result.averaged_epochs == ()
    # whatever was kept is what was saved: the saved model scores what the run reported
    saved = Predictor(result.model_path, device="cpu").evaluate(docs[36:])
    assert saved["accuracy"] == pytest.approx(result.dev_metrics["accuracy"])
    assert json.loads((Path(result.model_path) / "annotator.json").read_text())[
        "averaged_epochs"] == list(result.averaged_epochs)


def test_kept_mean_is_what_is_saved(tiny_bert: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """When the mean wins on dev (forced here), the saved weights are exactly the mean of
    the last epochs' weights."""
    import math

    import torch
    from safetensors.torch import load_file

    import core.engine.job as job_module

    seen: list[list[dict[str, Any]]] = []
    original = job_module.TrainingJob._try_average

    def always_better(self: Any, *args: Any) -> Any:
        *rest, tail, target, _best = args
        seen.append([{k: v.clone() for k, v in state.items()} for _, state in tail])
        return original(self, *rest, tail, target, (-math.inf, -math.inf))

    monkeypatch.setattr(job_module.TrainingJob, "_try_average", always_better)
    docs = make_class_docs(40, seed=4)
    result, _ = run_job(tmp_path, task="classify", labels=["neg", "pos"], train=docs[:32],
                        dev=docs[32:], settings=fast(tiny_bert, epochs=3, average_last=2))
    assert result.status == "completed", result.reason
    assert result.averaged_epochs == (2, 3) and len(seen) == 1
    saved = load_file(str(Path(result.model_path) / "model.safetensors"))
    states = seen[0]
    weight = next(k for k in states[0] if k.endswith("classifier.weight"))
    expected = (states[0][weight] + states[1][weight]) / 2
    assert not torch.equal(states[0][weight], states[1][weight])
    assert torch.allclose(saved[weight], expected)


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_layer_lr_decay_groups(tiny_bert: Path, decay: float) -> None:
    """Every trainable parameter is in exactly one group; biases and norms are never
    decayed; with decay < 1 the head trains at the full rate, each layer below at
    ``decay`` times the rate of the one above and the embeddings lowest."""
    from transformers import AutoModelForSequenceClassification

    from core.engine.job import param_groups

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_bert), num_labels=3)
    groups = param_groups(model, 1e-3, 0.01, decay)
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    wd = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert sum(len(g["params"]) for g in groups) == len(named) == len(rate)
    assert all(wd[id(p)] == 0.0 for n, p in named.items() if n.endswith("bias"))
    assert wd[id(named["classifier.weight"])] == 0.01
    layers = model.config.num_hidden_layers
    head = rate[id(named["classifier.weight"])]
    assert head == pytest.approx(1e-3)
    for i in range(layers):
        query = rate[id(named[f"bert.encoder.layer.{i}.attention.self.query.weight"])]
        assert query == pytest.approx(1e-3 * decay ** (layers - i))
    embeddings = rate[id(named["bert.embeddings.word_embeddings.weight"])]
    assert embeddings == pytest.approx(1e-3 * decay ** (layers + 1))
    assert len(groups) == (2 if decay == 1.0 else 2 * (layers + 2))


def test_layer_lr_decay_trains(tiny_bert: Path, tmp_path: Path) -> None:
    docs = make_class_docs(60, seed=5)
    result, _ = run_job(tmp_path, task="classify", labels=["neg", "pos"], train=docs[:48],
                        dev=docs[48:], settings=fast(tiny_bert, epochs=6, learning_rate=2e-3,
                                                     layer_lr_decay=0.8))
    assert result.status == "completed", result.reason
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss
    assert json.loads((Path(result.model_path) / "annotator.json").read_text())[
        "settings"]["layer_lr_decay"] == 0.8


def test_layer_lr_decay_is_validated() -> None:
    with pytest.raises(ValueError, match="layer_lr_decay"):
        TrainingSettings(layer_lr_decay=0.0)
    with pytest.raises(ValueError, match="layer_lr_decay"):
        TrainingSettings(layer_lr_decay=1.5)
