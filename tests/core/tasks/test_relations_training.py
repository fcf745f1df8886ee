"""The relation head on a tiny random BERT: one click on entities trains the tagger and then
the relation head, which learns a trivially learnable relation (a dose and a drug with "of"
between them are related, with "no" between them are not); ``annotator evaluate`` scores it
on the gold entities; pre-annotation suggests relations reviewed like every other
suggestion. Also the candidate pairs, the negatives kept, and the small-data guards."""

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
from core.types import DocumentRecord, EntitySpan, Relation, RelationSpec, Split, TaskKind

WORDS = [w for w in FILLER if w not in {"no", "of", "given"}]
DOSE_OF = "dose_of=DOSE>DRUG"


def relation_docs(n: int, seed: int, *, related: float = 0.5) -> list[DocumentRecord]:
    """"<filler> 5 mg of|no <drug> <filler>": the dose is the drug's with "of" between."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        rel = rng.random() < related
        left = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        dose, drug = f"{rng.randint(1, 9)} mg", rng.choice(DRUGS)
        s = len(left) + 1
        t = s + len(dose) + 4
        text = f"{left} {dose} {'of' if rel else 'no'} {drug} " + " ".join(
            rng.choice(WORDS) for _ in range(2))
        docs.append(DocumentRecord(
            text, external_id=f"rel-{seed}-{i}",
            spans=(EntitySpan(s, s + len(dose), "DOSE"), EntitySpan(t, t + len(drug), "DRUG")),
            relations=(Relation(0, 1, "dose_of"),) if rel else (),
            labelled_for=frozenset({TaskKind.NER, TaskKind.RELATION})))
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
    tmp = tmp_path_factory.mktemp("relations")
    base = build_tiny_bert(tmp / "bert", words=["mg"])
    path = tmp / "notes.db"
    project = Project.create(path, tasks={"ner": ["DOSE", "DRUG"]})
    project.annotations.add_relation_type(DOSE_OF)
    docs = relation_docs(96, seed=1)
    project.documents.add(docs[:80])
    project.documents.add(docs[80:], split=Split.DEV)
    events: list[Any] = []
    outcome = project.training.start("ner", fast(base), on_event=events.append)
    project.close()
    return path, outcome, events


def test_one_click_trains_the_tagger_then_the_relation_head(
    trained: tuple[Path, Any, list[Any]],
) -> None:
    from core.engine.results import FinishedEvent

    path, outcome, events = trained
    assert outcome.result.status == "completed", outcome.result.reason
    head = outcome.relations
    assert head is not None and head.result.status == "completed", head and head.result.reason
    assert outcome.attributes is None and outcome.attributes_skipped is None  # none declared
    dev = head.result.dev_metrics
    assert dev["f1"] >= 0.9, dev
    assert dev["per_label"]["dose_of"]["support"] == dev["support"] > 0
    finished = [e for e in events if isinstance(e, FinishedEvent)]
    assert len(finished) == 1 and events[-1] is finished[0]
    # Each epoch and step says which model it is of: the tagger's first, then the head's.
    from core.engine.results import EpochEvent, ProgressEvent

    epochs = [e.model for e in events if isinstance(e, EpochEvent)]
    tagger_epochs = len(outcome.result.epochs)
    assert epochs == [""] * tagger_epochs + ["relations"] * len(head.result.epochs)
    steps = [e.model for e in events if isinstance(e, ProgressEvent)]
    assert steps[0] == "" and steps[-1] == "relations" and steps == sorted(steps)
    with Project.open(path) as project:
        assert [v.version for v in project.models.list(TaskKind.RELATION)] == [1]
        model_dir = project.models.current(TaskKind.RELATION).path
        assert project.models.current(TaskKind.RELATION).labels == (DOSE_OF,)
    # a plain transformers directory: the markers in the tokenizer, the types in the head
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir)
    marked = tok("[E1] 5 mg [/E1] of [E2] zorblax [/E2]", add_special_tokens=False)["input_ids"]
    markers = tok.convert_tokens_to_ids(["[E1]", "[/E1]", "[E2]", "[/E2]"])
    assert [marked.index(m) for m in markers] == sorted(marked.index(m) for m in markers)
    assert marked[0] == markers[0] and marked[-1] == markers[-1]
    assert tok.unk_token_id not in marked
    assert model.config.id2label == {0: "no_relation", 1: "dose_of"}
    assert (Path(model_dir) / "model.safetensors").is_file()


def test_evaluate_reports_relations_on_the_gold_entities(
    trained: tuple[Path, Any, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from annotator.cli.main import run
    from core.formats import write_file

    path, _, _ = trained
    gold = relation_docs(40, seed=7)
    data = tmp_path / "gold.jsonl"
    write_file(gold, data, "jsonl", flavor="prodigy")
    assert run(["evaluate", str(path), "--task", "ner", "--data", str(data), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "f1" in out and "precision" in out  # the spans, as before
    relations = out["relations"]
    assert relations["support"] == sum(len(d.relations) for d in gold)
    assert relations["f1"] >= 0.9 and relations["precision"] >= 0.9, relations
    assert set(relations["per_label"]["dose_of"]) == {"precision", "recall", "f1", "support"}
    assert out["relation_model"]["model_version"] == 1
    assert run(["evaluate", str(path), "--task", "ner", "--data", str(data)]) == 0
    assert "relations (gold entities): precision" in capsys.readouterr().out
    # a relation the types do not allow in the gold file: file and line, no numbers
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text(encoding="utf-8").replace('"dose_of"', '"route_of"', 1),
                   encoding="utf-8")
    assert run(["evaluate", str(path), "--task", "ner", "--data", str(bad), "--json"]) != 0
    err = capsys.readouterr().err
    assert "bad.jsonl:" in err and "'route_of'" in err


def test_pre_annotation_suggests_relations_reviewed_like_every_other(
    trained: tuple[Path, Any, list[Any]],
) -> None:
    from core.active.queue import stored_scores
    from core.store import repo
    from core.store.models import DocumentScore
    from core.store.repo import AnnotationError

    path, _, _ = trained
    with Project.open(path) as project:
        fresh = [d for d in relation_docs(30, seed=11) if d.relations][:8]
        # a person's two entities, not yet linked: a relation is suggested between them
        human = DocumentRecord(fresh[0].text, spans=fresh[0].spans)
        project.documents.add([human, *[DocumentRecord(d.text) for d in fresh[1:]]])
        result = project.review.preannotate("ner")
        (rel,) = result.followed
        assert rel.task == "relation" and rel.documents > 0
        pending = project.review.pending("relation")
        ids = {project.documents.get(i).text: i for i in project.documents.filter()}
        hid = ids[human.text]
        (mine,) = pending[hid]
        assert (mine.head[:2], mine.tail[:2], mine.label) == (
            (human.spans[0].start, human.spans[0].end),
            (human.spans[1].start, human.spans[1].end), "dose_of")
        assert mine.head[2] == "DOSE" and mine.tail[2] == "DRUG"
        assert set(mine.probabilities) == {"no_relation", "dose_of"}
        assert 0.5 <= mine.confidence <= 1.0
        # accepting links them (provenance "accepted"); undo takes the link away again
        changes = project.review.accept(hid, [mine.id])
        doc = project.documents.get(hid)
        assert [(r.label, r.origin) for r in doc.relations] == [("dose_of", "accepted")]
        project.review.undo(changes)
        assert project.documents.get(hid).relations == ()
        assert mine.id in {s.id for s in project.documents.get(hid).suggestions}
        # an edit to a type the pair's labels do not allow is refused, nothing changes
        with pytest.raises(AnnotationError, match="unknown relation"):
            project.review.edit(hid, mine.id, label="route_of")
        # a relation on suggested entities waits for them
        other = next(i for i in ids.values() if i != hid and pending.get(i))
        doc = project.documents.get(other)
        (suggested,) = pending[other]
        with pytest.raises(AnnotationError, match="accept the suggested entity first"):
            project.review.accept(other, [suggested.id])
        for s in doc.suggestions_of("entity"):
            project.review.accept(other, [s.id])
        project.review.accept(other, [suggested.id])
        assert [r.label for r in project.documents.get(other).relations] == ["dose_of"]
        # rejecting a suggested entity rejects the relations suggested on it; undo both back
        third = next(i for i in ids.values() if i not in (hid, other) and pending.get(i))
        entity = project.documents.get(third).suggestions_of("entity")[0]
        on_it = {s.id for s in pending[third]}
        changes = project.review.reject(third, [entity.id])
        assert not {s.id for s in project.documents.get(third).suggestions} & on_it
        project.review.undo(changes)
        assert on_it <= {s.id for s in project.documents.get(third).suggestions}
        # a pair a person linked is never suggested over; the queue counts relations
        project.review.accept(hid, [mine.id])
        from core.active.preannotate import preannotate

        redo = preannotate(project, "relation", doc_ids=[hid], refresh=True)
        assert redo.skipped_conflicts == 1 and not project.review.pending(
            "relation", doc_ids=[hid])
        with project.read() as s:
            ner = stored_scores(s, "ner", "entropy")
            task = repo.require_task(s, "relation").id
            scores = dict(s.query(DocumentScore.document_id, DocumentScore.score)
                          .filter_by(task_id=task, strategy="entropy").all())
        assert scores and all(ner[d][0] >= v for d, v in scores.items() if d in ner)


def test_candidates_are_allowed_pairs_within_the_window() -> None:
    from core.tasks.relations import candidate_pairs, subsample_negatives

    specs = [RelationSpec.parse("dose_of=DOSE>DRUG"), RelationSpec.parse("with=DRUG>DRUG")]
    labels = ["DOSE", "DRUG", "DRUG", "DOSE"]
    ranges = [(0, 1), (2, 3), (5, 6), (40, 41)]
    # DOSE>DRUG one way; DRUG>DRUG both ways; the far dose only within 12 tokens: none
    assert candidate_pairs(labels, ranges, specs, budget=12) == [(0, 1), (0, 2), (1, 2), (2, 1)]
    assert (3, 2) in candidate_pairs(labels, ranges, specs, budget=36)
    assert candidate_pairs(labels, ranges, specs, budget=3) == [(0, 1)]
    kept = subsample_negatives([0, 1, 0, 0, 0, 0, 0, 2, 0], 2, seed=0)
    assert {1, 7} <= set(kept) and len(kept) == 6 and kept == sorted(kept)
    assert subsample_negatives([0, 0, 0], 3, seed=0) == [0, 1, 2]
    assert len(subsample_negatives([0] * 10, 3, seed=0)) == 3  # no positive: 3 kept


def test_pairs_are_weighed_by_their_class_inverse_frequency() -> None:
    import torch

    from core.tasks.relations import class_weights, weighted_loss

    assert class_weights([0, 0, 0, 1]) == [4 / 6, 4 / 6, 4 / 6, 2.0]
    assert class_weights([0, 1, 2, 0]) == [4 / 6, 4 / 3, 4 / 3, 4 / 6]

    class Model(torch.nn.Module):
        def forward(self, input_ids: Any, **_: Any) -> Any:
            return type("Out", (), {"logits": input_ids.float()})()

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    weights = torch.tensor([0.5, 2.0, 2.0])
    module = weighted_loss(Model())
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor([0.5, 2.0]))
    got = module(input_ids=logits, labels=labels, pair_weights=weights).loss
    assert torch.isclose(got, expected)
    plain = module(input_ids=logits, labels=labels).loss
    assert torch.isclose(plain, torch.nn.functional.cross_entropy(logits, labels))
    assert module(input_ids=logits).loss is None


def test_markers_go_around_the_head_and_the_tail_in_either_order(tmp_path: Path) -> None:
    import transformers

    from core.engine.settings import TaskSpec
    from core.tasks.relations import MARKERS, pair_features

    base = build_tiny_bert(tmp_path / "bert", words=["mg"])
    tok = transformers.AutoTokenizer.from_pretrained(base)
    tok.add_tokens(list(MARKERS), special_tokens=True)
    spec = TaskSpec(TaskKind.RELATION, ("of=DRUG>DOSE", "dose_of=DOSE>DRUG"))
    doc = DocumentRecord("5 mg of zorblax", spans=(EntitySpan(0, 4, "DOSE"),
                                                   EntitySpan(8, 15, "DRUG")),
                         relations=(Relation(0, 1, "dose_of"),))
    feats, where = pair_features(tok, spec, [doc], max_length=32, with_gold=True)
    assert where == [(0, 0, 1), (0, 1, 0)]
    texts = [tok.decode(f.input_ids) for f in feats]
    assert texts[0] == "[CLS] [E1] 5 mg [/E1] of [E2] zorblax [/E2] [SEP]"
    assert texts[1] == "[CLS] [E2] 5 mg [/E2] of [E1] zorblax [/E1] [SEP]"
    assert [f.label for f in feats] == [2, 0]  # dose_of; the other way: no relation


def test_small_data_warnings_name_rare_types_and_no_relation_is_a_problem() -> None:
    docs = relation_docs(30, seed=3, related=0.2)
    n = sum(len(d.relations) for d in docs)
    assert 0 < n < 10
    labels = [DOSE_OF, "route_of=DOSE>DRUG"]
    prep = prepare(task="relation", labels=labels, train=docs, dev=[], settings=TrainingSettings())
    assert prep.problem is None
    rare = [w for w in prep.warnings if "fewer than 10" in w]
    assert rare and f"'dose_of' ({n})" in rare[0] and "'route_of' (0)" in rare[0]
    assert any(f"only {n} relation(s) labelled" in w for w in prep.warnings)
    none = [DocumentRecord(d.text, spans=d.spans, labelled_for=d.labelled_for) for d in docs]
    prep = prepare(task="relation", labels=labels, train=none, dev=[], settings=TrainingSettings())
    assert prep.problem is not None and "no relation labelled" in prep.problem


def test_one_click_skips_the_relation_head_without_a_relation(tmp_path: Path) -> None:
    from core.engine.results import WarningEvent

    base = build_tiny_bert(tmp_path / "bert", words=["mg"])
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["DOSE", "DRUG"]})
    project.annotations.add_relation_type(DOSE_OF)
    # checked for relations, none found (an import's "relations": [])
    project.documents.add([DocumentRecord(d.text, spans=d.spans, labelled_for=d.labelled_for)
                           for d in relation_docs(24, seed=5)])
    assert any(w.startswith("relations: not trained: no relation labelled")
               for w in project.training.prepare("ner").warnings)
    events: list[Any] = []
    outcome = project.training.start("ner", fast(base, epochs=1), on_event=events.append)
    project.close()
    assert outcome.result.status == "completed" and outcome.relations is None
    assert outcome.relations_skipped is not None and "no relation" in outcome.relations_skipped
    assert any(isinstance(e, WarningEvent) and e.message.startswith(
        "relations: the relation model was not trained") for e in events)


@pytest.mark.parametrize("kind", [TaskKind.RELATION, TaskKind.ATTRIBUTE])
def test_adding_the_markers_prints_nothing(kind: TaskKind, tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    """The heads add their entity markers to the tokenizer and the embeddings without
    transformers' note on how the new rows are initialised reaching the user's terminal."""
    import transformers

    from core.tasks import kind_of

    base = build_tiny_bert(tmp_path / "bert")
    tok = transformers.AutoTokenizer.from_pretrained(base)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base)
    before = len(tok)
    import logging

    once = getattr(logging.Logger, "warning_once", None)
    if hasattr(once, "cache_clear"):  # transformers says some things once a process
        once.cache_clear()
    capfd.readouterr()
    kind_of(kind).adapt_model(model, tok)
    out, err = capfd.readouterr()
    assert len(tok) > before and model.get_input_embeddings().num_embeddings == len(tok)
    assert "embeddings" not in out + err, out + err
