"""Sentence classes (the 'sentence' kind): stored sentences, edits and their inverses,
import, the model inputs of each context layout, and training → suggestions → review."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine.settings import TaskSpec, preset_settings
from core.errors import AnnotatorError
from core.project import DocFilter, Project
from core.tasks.sentences import sentence_features
from core.types import DocumentRecord, SentenceLabel, TaskKind

NOTE = ("Patient smokes ten cigarettes a day. Plan: start nicotine patch. "
        "Dr. Smith prescribed 2.5 mg b.i.d. today.")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_bert: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_bert))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "s.db", tasks={"sentence": ["smoking", "plan", "other"]})
    p.documents.add([DocumentRecord(NOTE, external_id="n0")])
    yield p
    p.close()


def _doc(project: Project) -> int:
    return project.documents.filter(DocFilter())[0]


def test_documents_get_their_sentences_once_stored(project: Project) -> None:
    view = project.documents.get(_doc(project))
    assert [NOTE[s.start:s.end] for s in view.sentences] == [
        "Patient smokes ten cigarettes a day.", "Plan: start nicotine patch.",
        "Dr. Smith prescribed 2.5 mg b.i.d. today."]
    assert all(s.labels == () for s in view.sentences)


def test_a_task_added_later_segments_the_documents_already_there(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "p.db", tasks={"ner": ["Drug"]})
    p.documents.add([DocumentRecord(NOTE)])
    doc = p.documents.filter(DocFilter())[0]
    assert p.documents.get(doc).sentences == ()
    p.annotations.add_task("sentence", ["plan"])
    assert len(p.documents.get(doc).sentences) == 3
    p.close()


def test_classes_split_merge_and_their_undo(project: Project) -> None:
    doc = _doc(project)
    first, second, third = project.documents.get(doc).sentences
    c1 = project.annotations.set_sentence_classes(doc, first.start, first.end, ["smoking"])
    assert c1.kinds == {TaskKind.SENTENCE} and c1.documents == {doc}
    project.annotations.set_sentence_classes(doc, second.start, second.end, ["plan"])
    before = project.documents.get(doc).sentences
    split = project.annotations.split_sentence(doc, first.start + 10)  # inside "smokes"
    halves = project.documents.get(doc).sentences[:2]
    assert NOTE[halves[0].start:halves[0].end] == "Patient"  # cut at the word's start
    assert halves[0].labels == halves[1].labels == ("smoking",)  # no label lost
    project.undo(split)
    assert project.documents.get(doc).sentences == before
    with pytest.raises(AnnotatorError, match="different classes"):  # single-label
        project.annotations.merge_sentences(doc, first.start)
    merged = project.annotations.merge_sentences(doc, second.start)  # "plan" + unlabelled
    now = project.documents.get(doc).sentences
    assert len(now) == 2 and now[1] == SentenceLabel(second.start, third.end, ("plan",))
    project.undo(merged)
    assert project.documents.get(doc).sentences == before
    project.undo(c1)
    assert project.documents.get(doc).sentences[0].labels == ()


def test_import_takes_given_sentences_and_their_classes(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "p.db")
    record = DocumentRecord(NOTE, sentences=(
        SentenceLabel(0, 36, ("smoking",)), SentenceLabel(37, 64), SentenceLabel(65, 106)))
    summary, _ = p.documents.add([record])
    doc = p.documents.filter(DocFilter())[0]
    assert TaskKind.SENTENCE in p.documents.tasks() and summary.annotations_added == 1
    assert p.documents.get(doc).sentences == record.sentences
    with pytest.raises(AnnotatorError, match="outside the text"):
        p.documents.add([DocumentRecord("short", sentences=(SentenceLabel(0, 99),))])
    p.close()


def test_each_context_layout_marks_the_sentence(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    doc = DocumentRecord(NOTE, sentences=(
        SentenceLabel(0, 36), SentenceLabel(37, 64, ("plan",)), SentenceLabel(65, 106)))
    tok = tiny_tokenizer
    sent_ids = tok("Plan: start nicotine patch.", add_special_tokens=False)["input_ids"]
    for context in ("marked", "pair", "none"):
        spec = TaskSpec(TaskKind.SENTENCE, ("plan",), sentence_context=context)
        feats, where = sentence_features(tok, spec, [doc], max_length=64, labelled_only=True,
                                         with_gold=True)
        assert len(feats) == 1 and where[0][1].labels == ("plan",) and feats[0].label == 0
        ids, types = feats[0].input_ids, feats[0].token_type_ids
        if context == "none":
            assert ids[1:-1] == sent_ids and set(types) == {0}
        elif context == "marked":  # the whole note, the sentence's tokens of type 1
            assert [i for i, t in zip(ids, types) if t == 1] == sent_ids
            assert len(ids) > len(sent_ids) + 2
        else:  # the sentence first, then the passage around it
            assert ids[1:1 + len(sent_ids)] == sent_ids and types[1] == 0 and types[-1] == 1
            assert len(ids) > 2 * len(sent_ids)


def test_train_suggest_and_accept_a_sentence_class(project: Project, tiny_bert: Path) -> None:
    notes = [f"Patient {i} smokes a pipe. Plan: follow up in {i} weeks. Seen by Dr. Lee."
             for i in range(40)]
    project.documents.add([DocumentRecord(n) for n in notes])
    ids = project.documents.filter(DocFilter())
    for doc in ids[:30]:
        for s, lab in zip(project.documents.get(doc).sentences, ("smoking", "plan", "other")):
            project.annotations.set_sentence_classes(doc, s.start, s.end, [lab])
    settings = preset_settings("default", "sentence", base_model=str(tiny_bert), epochs=1,
                               min_steps=0)
    outcome = project.training.start("sentence", settings)
    assert outcome.result.status == "completed", outcome.result.reason
    assert outcome.result.dev_metrics["sentences"] == 3 * outcome.result.dev_examples
    result = project.review.preannotate("sentence")
    assert result.suggestions == 3 * (len(ids) - 30)  # one per sentence of each open note
    doc = ids[-1]
    view = project.documents.get(doc)
    pending = view.suggestions_of("sentence")
    assert {(s.payload["start"], s.payload["end"]) for s in pending} == {
        (s.start, s.end) for s in view.sentences}
    changes = project.review.accept(doc, [pending[0].id])
    accepted = project.documents.get(doc).sentences[0]
    assert accepted.labels == tuple(pending[0].payload["labels"])
    project.undo(changes)
    assert project.documents.get(doc).sentences[0].labels == ()


def _suggest(project: Project, doc: int, start: int, end: int, label: str,
             confidence: float = 0.8, state: str = "pending") -> int:
    from sqlalchemy import select

    from core.store.models import Suggestion, Task

    with project.write() as s:
        row = Suggestion(
            document_id=doc, task_id=s.scalar(select(Task.id).where(Task.kind == "sentence")),
            kind="sentence", confidence=confidence, state=state,
            payload={"start": start, "end": end, "label": label, "labels": [label],
                     "probabilities": {label: confidence}},
        )
        s.add(row)
        s.flush()
        return row.id


def _suggestions(project: Project, doc: int) -> dict[int, tuple[int, int, str, float, str]]:
    """Every sentence suggestion of ``doc`` as stored: id -> (start, end, label, confidence,
    state)."""
    from sqlalchemy import select

    from core.store.models import Suggestion

    with project.read() as s:
        return {r.id: (r.payload["start"], r.payload["end"], r.payload["label"], r.confidence,
                       r.state)
                for r in s.scalars(select(Suggestion).where(Suggestion.document_id == doc))}


def _pending_extents(project: Project, doc: int) -> set[tuple[int, int]]:
    shown = {(s.start, s.end) for s in project.documents.get(doc).suggestions_of("sentence")}
    listed = {(p.start, p.end) for p in project.review.pending("sentence").get(doc, [])}
    assert shown == listed
    return shown


def test_a_split_or_merge_resolves_the_suggestions_of_the_sentences_it_removed(
    project: Project,
) -> None:
    doc = _doc(project)
    first, second, third = project.documents.get(doc).sentences
    ids = [_suggest(project, doc, s.start, s.end, lab, conf)
           for s, lab, conf in zip((first, second, third), ("smoking", "plan", "other"),
                                   (0.9, 0.7, 0.6))]
    rejected = _suggest(project, doc, first.start, first.end, "other", state="rejected")
    before = _suggestions(project, doc)

    split = project.annotations.split_sentence(doc, first.start + 10)
    assert split.suggestions  # the screens refresh their suggestions
    # The split sentence's pending suggestion is gone: not shown, not listed, not accepted
    # by "accept above"; the untouched sentences keep theirs; the decided one stays.
    assert _pending_extents(project, doc) == {(second.start, second.end),
                                              (third.start, third.end)}
    assert set(_suggestions(project, doc)) == {ids[1], ids[2], rejected}
    assert project.review.pending_above(doc, "sentence", 0.0) == [ids[1], ids[2]]

    project.undo(split)  # back as it was: same id, payload, confidence, state
    assert _suggestions(project, doc) == before
    assert _pending_extents(project, doc) == {(s.start, s.end) for s in (first, second, third)}

    merged = project.annotations.merge_sentences(doc, second.start)
    assert _pending_extents(project, doc) == {(first.start, first.end)}
    assert set(_suggestions(project, doc)) == {ids[0], rejected}
    redo = project.undo(merged)
    assert _suggestions(project, doc) == before
    project.apply(redo.inverse)  # redo the merge: resolved again
    assert set(_suggestions(project, doc)) == {ids[0], rejected}


def test_undo_of_a_split_swaps_the_halves_suggestions_for_the_sentences(
    project: Project,
) -> None:
    doc = _doc(project)
    first = project.documents.get(doc).sentences[0]
    old = _suggest(project, doc, first.start, first.end, "smoking")
    split = project.annotations.split_sentence(doc, first.start + 10)
    right = project.documents.get(doc).sentences[1]
    # A pre-annotation after the split suggests for the halves...
    half = _suggest(project, doc, right.start, right.end, "plan")
    redo = project.undo(split)
    # ... which undo removes with the halves, bringing back the whole sentence's one.
    assert {i for i, v in _suggestions(project, doc).items() if v[4] == "pending"} == {old}
    project.apply(redo.inverse)
    assert set(_suggestions(project, doc)) == {half}
    assert _pending_extents(project, doc) == {(right.start, right.end)}

