"""The attribute head on a tiny random BERT: one click on entities trains the tagger and
then the attribute head, which learns trivially learnable attributes ("no" just before a
drug: Negated; "today" just after it: Today), and ``annotator evaluate`` scores it on the
gold entities. Also the small-data warnings and the grouped loss."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from tiny_models import DRUGS, FILLER, build_tiny_bert

from core.engine.prepare import prepare
from core.engine.settings import TrainingSettings
from core.project import Project
from core.types import DocumentRecord, EntitySpan, Split, TaskKind

CUES = {"no", "given", "daily", "today"}
WORDS = [w for w in FILLER if w not in CUES]
NEGATION = "negation=Affirmed,Negated"
FREQUENCY = "frequency=Daily,Today"


def attribute_docs(n: int, seed: int) -> list[DocumentRecord]:
    """A drug in filler, "no" or "given" before it, "daily" or "today" after it."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        negated, today = rng.random() < 0.5, rng.random() < 0.5
        left = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
        right = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
        drug = rng.choice(DRUGS)
        head = " ".join([*left, "no" if negated else "given"]) + " "
        text = head + drug + " " + " ".join(["today" if today else "daily", *right])
        docs.append(DocumentRecord(text, external_id=f"att-{seed}-{i}", spans=(EntitySpan(
            len(head), len(head) + len(drug), "DRUG",
            {"negation": "Negated" if negated else "Affirmed",
             "frequency": "Today" if today else "Daily"}),)))
    return docs


def fast(base: Path, **kw: Any) -> TrainingSettings:
    values: dict[str, Any] = dict(
        base_model=str(base), learning_rate=3e-3, batch_size=8, epochs=8, max_length=32,
        stride=8, patience=0, warmup_ratio=0.0, device="cpu", min_steps=0,
    )
    values.update(kw)
    return TrainingSettings(**values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, list[Any]]:
    tmp = tmp_path_factory.mktemp("attributes")
    # No dropout: which of the two attributes the tiny encoder's saturating pooler learns
    # (below) hangs on the random stream; without dropout it is the same whatever draws it.
    base = build_tiny_bert(tmp / "bert", dropout=0.0)
    path = tmp / "notes.db"
    project = Project.create(path, tasks={"ner": ["DRUG"]})
    project.annotations.add_task("ner", attributes=[])
    project.annotations.add_attribute(NEGATION)
    project.annotations.add_attribute(FREQUENCY)
    docs = attribute_docs(96, seed=1)
    project.documents.add(docs[:80])
    project.documents.add(docs[80:], split=Split.DEV)
    events: list[Any] = []
    outcome = project.training.start("ner", fast(base), on_event=events.append)
    project.close()
    return path, outcome, events


def test_one_click_trains_the_tagger_then_the_attribute_head(
    trained: tuple[Path, Any, list[Any]],
) -> None:
    from core.engine.results import FinishedEvent

    path, outcome, events = trained
    assert outcome.result.status == "completed", outcome.result.reason
    head = outcome.attributes
    assert head is not None and head.result.status == "completed", head and head.result.reason
    dev = head.result.dev_metrics
    assert dev["attributes"]["negation"]["accuracy"] >= 0.9, dev
    # The tiny random encoder learns one signal from its [CLS] (its tanh pooler saturates;
    # tests/core/engine/test_training.py, multi-label): the second attribute is scored, not
    # learned here.
    assert dev["attributes"]["frequency"]["support"] == 16
    # one FinishedEvent, the tagger's, after everything else
    finished = [e for e in events if isinstance(e, FinishedEvent)]
    assert len(finished) == 1 and events[-1] is finished[0]
    with Project.open(path) as project:
        assert [v.version for v in project.models.list(TaskKind.ATTRIBUTE)] == [1]
        assert [v.version for v in project.models.list(TaskKind.NER)] == [1]
        model_dir = project.models.current(TaskKind.ATTRIBUTE).path
    # a plain transformers directory: the markers are in the tokenizer, the pairs in the head
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir)
    marked = tok("no [E] zorblax [/E] today", add_special_tokens=False)["input_ids"]
    assert tok.convert_tokens_to_ids(["[E]", "[/E]"]) == [marked[1], marked[-2]]
    assert tok.unk_token_id not in marked
    assert list(model.config.id2label.values()) == [
        "negation=Affirmed", "negation=Negated", "frequency=Daily", "frequency=Today"]


def test_evaluate_reports_attributes_on_the_gold_entities(
    trained: tuple[Path, Any, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from annotator.cli.main import run
    from core.formats import write_file

    path, _, _ = trained
    gold = attribute_docs(40, seed=7)
    # a file may leave the default out: the entity reads it
    gold[0] = DocumentRecord(gold[0].text, spans=(EntitySpan(
        gold[0].spans[0].start, gold[0].spans[0].end, "DRUG",
        {k: v for k, v in gold[0].spans[0].attributes.items() if v not in ("Affirmed",
                                                                            "Daily")}),))
    data = tmp_path / "gold.jsonl"
    write_file(gold, data, "jsonl", flavor="prodigy")
    assert run(["evaluate", str(path), "--task", "ner", "--data", str(data), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "f1" in out and "precision" in out  # the spans, as before
    negation = out["attributes"]["negation"]
    assert negation["accuracy"] >= 0.9, negation
    negated = negation["per_value"]["Negated"]
    expected = sum(d.spans[0].attributes.get("negation") == "Negated" for d in gold)
    assert negated["support"] == expected and negated["f1"] >= 0.9
    assert set(negated) >= {"precision", "recall", "f1", "support"}
    assert out["attributes"]["frequency"]["support"] == 40
    # an undeclared value in the gold file: file and line, no numbers
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text(encoding="utf-8").replace('"Negated"', '"Denied"', 1),
                   encoding="utf-8")
    assert run(["evaluate", str(path), "--task", "ner", "--data", str(bad), "--json"]) != 0
    err = capsys.readouterr().err
    assert "bad.jsonl:" in err and "'Denied'" in err


def test_evaluate_reads_a_brat_gold_folder_with_the_projects_declarations(
    trained: tuple[Path, Any, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """brat's binary attribute lines ("A1 Negated T1") map to the project's attributes, as
    an import maps them; a discontinuous entity is refused with the option that joins it."""
    from annotator.cli.main import run

    path, _, _ = trained
    gold = attribute_docs(40, seed=7)
    folder = tmp_path / "gold"
    folder.mkdir()
    for i, d in enumerate(gold):
        (span,) = d.spans
        ann = f"T1\tDRUG {span.start} {span.end}\t{d.text[span.start:span.end]}\n"
        if span.attributes["negation"] == "Negated":
            ann += "A1\tNegated T1\n"  # binary: read only through the declaration
        if span.attributes["frequency"] == "Today":
            ann += "A2\tfrequency T1 Today\n"
        if i == 0:  # the drug and the first word after it, in two fragments
            after = d.text.index(" ", span.end) + 1
            stop = d.text.find(" ", after)
            stop = len(d.text) if stop < 0 else stop
            ann = ann.replace(f"{span.start} {span.end}\t",
                              f"{span.start} {span.end};{after} {stop}\t", 1)
            ann = ann.replace(f"\t{d.text[span.start:span.end]}\n",
                              f"\t{d.text[span.start:span.end]} {d.text[after:stop]}\n", 1)
        (folder / f"g{i:02d}.txt").write_text(d.text, encoding="utf-8")
        (folder / f"g{i:02d}.ann").write_text(ann, encoding="utf-8")
    argv = ["evaluate", str(path), "--task", "ner", "--data", str(folder), "--json"]
    assert run(argv) != 0
    err = capsys.readouterr().err
    assert "g00.ann:1:" in err and "--discontinuous join" in err
    assert run([*argv, "--discontinuous", "join"]) == 0
    out = json.loads(capsys.readouterr().out)
    negated = out["attributes"]["negation"]["per_value"]["Negated"]
    assert negated["support"] == sum(
        d.spans[0].attributes["negation"] == "Negated" for d in gold)
    assert out["attributes"]["negation"]["accuracy"] >= 0.9
    assert out["attributes"]["frequency"]["support"] == 40


def test_pre_annotation_suggests_attribute_values_reviewed_like_every_other(
    trained: tuple[Path, Any, list[Any]],
) -> None:
    from core.active.queue import stored_scores
    from core.store.repo import AnnotationError

    path, _, _ = trained
    with Project.open(path) as project:
        fresh = attribute_docs(12, seed=11)
        # a person's entity with no value set (the defaults): values are suggested for it
        truth = fresh[0].spans[0].attributes
        human = DocumentRecord(fresh[0].text, spans=(EntitySpan(
            fresh[0].spans[0].start, fresh[0].spans[0].end, "DRUG"),))
        project.documents.add([human, *[DocumentRecord(d.text) for d in fresh[1:]]])
        result = project.review.preannotate("ner")
        # every unreviewed document: the 12 new ones and the labelled, unreviewed ones
        assert result.documents == 108 and result.suggestions > 0
        (attr,) = result.followed
        assert attr.task == "attribute" and attr.documents == 108
        pending = project.review.pending("attribute")
        total = sum(len(v) for v in pending.values())
        assert total == attr.suggestions > 0
        # the person's entity: one suggestion per attribute, with its probabilities
        ids = {project.documents.get(i).text: i for i in project.documents.filter()}
        hid = ids[human.text]
        mine = {s.attribute: s for s in pending[hid]}
        assert set(mine) == {"negation", "frequency"}
        neg = mine["negation"]
        assert neg.value == truth["negation"]
        assert set(neg.probabilities) == {"Affirmed", "Negated"}
        assert 0.5 <= neg.confidence <= 1.0
        # accepting sets the value (provenance "accepted"); undo puts the default back
        entity = project.documents.get(hid).entities[0]
        before = dict(entity.attributes)
        changes = project.review.edit(hid, neg.id, label="Negated"
                                      if neg.value == "Affirmed" else "Affirmed")
        after = project.documents.get(hid).entities[0]
        assert after.attributes["negation"] != neg.value and "negation" in after.attributes_set
        project.review.undo(changes)
        assert dict(project.documents.get(hid).entities[0].attributes) == before
        assert project.documents.get(hid).entities[0].attributes_set == frozenset()
        # a suggested entity's values wait for the entity
        other = next(i for i in ids.values() if i != hid and pending.get(i))
        doc = project.documents.get(other)
        entity_s = doc.suggestions_of("entity")[0]
        attr_s = next(s for s in pending[other] if (s.start, s.end) == (entity_s.start,
                                                                       entity_s.end))
        with pytest.raises(AnnotationError, match="accept the suggested entity first"):
            project.review.accept(other, [attr_s.id])
        project.review.accept(other, [entity_s.id])
        project.review.accept(other, [attr_s.id])
        got = project.documents.get(other).entities[0]
        assert got.attributes[attr_s.attribute] == attr_s.value
        # rejecting a suggested entity rejects its suggested values; undo brings both back
        third = next(i for i in ids.values() if i not in (hid, other) and pending.get(i))
        entity_r = project.documents.get(third).suggestions_of("entity")[0]
        on_it = {s.id for s in pending[third] if (s.start, s.end) == (entity_r.start,
                                                                     entity_r.end)}
        assert on_it
        changes = project.review.reject(third, [entity_r.id])
        assert not {s.id for s in project.documents.get(third).suggestions} & (
            on_it | {entity_r.id})
        project.review.undo(changes)
        assert on_it | {entity_r.id} <= {s.id for s in project.documents.get(third).suggestions}
        # a value a person set is never suggested over
        project.annotations.set_entity_attributes(got.id, {"frequency": "Daily"})
        assert project.review.preannotate("ner").documents == 0  # incremental
        from core.active.preannotate import preannotate

        redo = preannotate(project, "attribute", doc_ids=[other], refresh=True)
        assert redo.documents == 1 and redo.skipped_conflicts >= 1
        left = project.review.pending("attribute").get(other, [])
        assert not [s for s in left if (s.start, s.end) == (got.start, got.end)
                    and s.attribute == "frequency"]
        # the queue of entities counts the attributes' uncertainty
        with project.read() as s:
            ner = stored_scores(s, "ner", "entropy")
            from core.store import repo
            from core.store.models import DocumentScore

            att_task = repo.require_task(s, "attribute").id
            att = {d: sc for d, sc in s.query(DocumentScore.document_id, DocumentScore.score)
                   .filter_by(task_id=att_task, strategy="entropy")}
        assert att and all(ner[d][0] >= score for d, score in att.items() if d in ner)


def test_small_data_warnings_name_rare_values() -> None:
    docs = attribute_docs(30, seed=3)
    few = [DocumentRecord(d.text, spans=(EntitySpan(
        d.spans[0].start, d.spans[0].end, "DRUG",
        {**d.spans[0].attributes, "negation": "Negated" if i < 3 else "Affirmed"}),))
        for i, d in enumerate(docs)]
    labels = ["negation=Affirmed", "negation=Negated", "frequency=Daily", "frequency=Today"]
    prep = prepare(task="attribute", labels=labels, train=few, settings=TrainingSettings())
    assert prep.problem is None
    rare = [w for w in prep.warnings if "fewer than 10" in w]
    assert rare and "'negation=Negated' (3)" in rare[0] and "negation=Affirmed" not in rare[0]
    prep = prepare(task="attribute", labels=labels, train=few[:4], settings=TrainingSettings())
    assert any("only 4 entity(ies) with the attribute 'negation'" in w for w in prep.warnings)


def test_grouped_loss_is_one_cross_entropy_per_attribute() -> None:
    import torch

    from core.tasks.attributes import attribute_groups, grouped_loss

    groups = attribute_groups(["a=x", "a=y", "b=p", "b=q", "b=r"])
    assert [(n, i) for n, i, _ in groups] == [("a", [0, 1]), ("b", [2, 3, 4])]
    logits = torch.tensor([[2.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 3.0, 0.0, 0.0]])
    targets = torch.tensor([[0, 1], [1, -100]])
    ce = torch.nn.functional.cross_entropy
    a = ce(logits[:, :2], targets[:, 0])
    b = ce(logits[:1, 2:], targets[:1, 1])
    assert torch.isclose(grouped_loss(logits, targets, groups), (a + b) / 2)


def test_value_weights_count_each_attributes_values_in_the_training_inputs() -> None:
    import torch

    from core.engine.features import Feature
    from core.tasks.attributes import attribute_groups, grouped_loss, value_weights

    groups = attribute_groups(["a=x", "a=y", "b=p", "b=q", "b=r"])
    # a: x 4 times, y once; b: p 3 times, q once, r never (one input has no b)
    targets = [[0, 0], [0, 0], [0, 0], [1, 1], [0, -100]]
    feats = [Feature([1], [0], i, (0, 1), 1, labels=t) for i, t in enumerate(targets)]
    assert value_weights(groups, feats, None) is None
    balanced = value_weights(groups, feats, "balanced")
    assert balanced == [[5 / (2 * 4), 5 / (2 * 1)], [4 / (2 * 3), 4 / (2 * 1), 1.0]]
    assert value_weights(groups, feats, "sqrt") == [[w ** 0.5 for w in ws] for ws in balanced]
    with pytest.raises(ValueError, match="'inverse' is not one of"):
        value_weights(groups, feats, "inverse")
    # a weighted term is cross_entropy(weight=...): the rare value's error counts more
    logits = torch.tensor([[2.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 3.0, 0.0, 0.0]])
    batch = torch.tensor([[1, -100], [0, -100]])
    w = [torch.tensor(x) for x in balanced]
    expected = torch.nn.functional.cross_entropy(logits[:, :2], batch[:, 0], weight=w[0])
    assert torch.isclose(grouped_loss(logits, batch, groups, w), expected)
    assert not torch.isclose(grouped_loss(logits, batch, groups), expected)


def test_class_weighting_reaches_the_training_loss(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind's training module weighs the values by the inputs the job hands it."""
    import torch

    from core.engine.features import Feature
    from core.engine.settings import TaskSpec
    from core.tasks import attributes

    labels = ("a=x", "a=y")
    spec = TaskSpec(TaskKind.ATTRIBUTE, labels)
    feats = [Feature([1], [0], i, (0, 1), 1, labels=[t]) for i, t in enumerate([0, 0, 0, 1])]

    class Model(torch.nn.Module):
        def forward(self, **inputs: Any) -> Any:
            return type("Out", (), {"logits": torch.tensor([[1.0, 0.0], [1.0, 0.0]])})()

    kind = attributes.AttributeKind()
    targets = torch.tensor([[1], [0]])
    monkeypatch.setattr(attributes, "CLASS_WEIGHTING", None)
    plain = kind.training_module(Model(), spec, feats)(attribute_labels=targets).loss
    monkeypatch.setattr(attributes, "CLASS_WEIGHTING", "balanced")
    weighted = kind.training_module(Model(), spec, feats)(attribute_labels=targets).loss
    ce = torch.nn.functional.cross_entropy
    logits = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert torch.isclose(plain, ce(logits, targets[:, 0]))
    assert torch.isclose(weighted, ce(logits, targets[:, 0],
                                      weight=torch.tensor([4 / 6, 4 / 2])))
    assert weighted > plain  # the one "y", wrongly predicted, weighs 3 times an "x"
    monkeypatch.undo()  # what the app trains with: the square roots of the balanced weights
    default = kind.training_module(Model(), spec, feats)(attribute_labels=targets).loss
    assert torch.isclose(default, ce(logits, targets[:, 0],
                                     weight=torch.tensor([(4 / 6) ** 0.5, (4 / 2) ** 0.5])))


def test_the_entities_preparation_shows_the_attribute_heads_warnings(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["DRUG"]})
    project.annotations.add_attribute(NEGATION)
    docs = attribute_docs(30, seed=5)
    project.documents.add([DocumentRecord(d.text, spans=(EntitySpan(
        d.spans[0].start, d.spans[0].end, "DRUG",
        {"negation": "Negated" if i < 4 else "Affirmed"}),)) for i, d in enumerate(docs)])
    warnings = project.training.prepare("ner").warnings
    project.close()
    rare = [w for w in warnings if w.startswith("attributes: ") and "fewer than 10" in w]
    assert rare and "'negation=Negated' (" in rare[0]
    # the warnings both runs share are not said twice
    assert len([w for w in warnings if "labelled document(s)" in w]) <= 1


def test_cli_train_reports_the_attribute_head(trained: tuple[Path, Any, list[Any]],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from annotator.cli.main import run

    path, _, _ = trained
    base = path.parent / "bert"
    args = ["--base-model", str(base), "--epochs", "2", "--lr", "3e-3", "--batch-size", "8",
            "--device", "cpu", "--no-predict", "--json"]
    assert run(["train", str(path), "--task", "ner", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "completed" and out["model_version"] == 2
    head = out["attributes"]
    assert head["status"] == "completed" and head["model_version"] == 2
    assert set(head["dev"]["attributes"]) == {"negation", "frequency"}
    assert run(["train", str(path), "--task", "attribute", *args]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["model_version"] == 3 and "attributes" not in alone


def test_cli_predict_says_what_the_attribute_model_suggested(
    trained: tuple[Path, Any, list[Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    """After test_cli_train_reports_the_attribute_head: new versions predict everything."""
    from annotator.cli.main import run

    path, _, _ = trained
    with Project.open(path) as project:
        if len(project.models.list(TaskKind.NER)) < 2:
            pytest.skip("needs the versions trained by test_cli_train_reports_the_attribute_head")
    assert run(["predict", str(path), "--task", "ner"]) == 0
    out = capsys.readouterr().out
    assert "attribute model version 3:" in out and "suggestions on the entities of" in out
    assert run(["predict", str(path), "--task", "ner", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["documents"] == 0 and payload["followed"] == []  # nothing new: incremental
