"""project.documents: filter, search, pages, counts per kind, one document, import."""

from __future__ import annotations

from core.project import Changes, DocFilter, Project
from core.types import DocumentRecord, TaskKind
from tests.core.project.conftest import TEXTS, add_suggestion, doc_id


def test_get_is_a_plain_view_of_labels_and_pending_suggestions(project: Project) -> None:
    d0 = doc_id(project, "d0")
    sid = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"})
    view = project.documents.get(d0)
    assert view is not None
    assert [(e.start, e.end, e.label, e.origin) for e in view.entities] == [
        (13, 19, "Disease", "imported")
    ]
    assert [q.text for q in view.questions] == ["What drug?"]
    assert view.questions[0].status == "answered"
    assert [(s.id, s.label, s.start, s.end) for s in view.suggestions_of("entity")] == [
        (sid, "Drug", 30, 40)
    ]
    assert project.documents.get(10_000) is None


def test_filter_search_and_page(project: Project) -> None:
    d0, d1, d2 = (doc_id(project, x) for x in ("d0", "d1", "d2"))
    assert project.documents.filter() == [d0, d1, d2]
    assert project.documents.search("aspirin") == [d2]
    assert project.documents.search("100%") == []  # LIKE wildcards are taken literally
    rows = project.documents.page([d2, d0])
    assert [r.id for r in rows] == [d2, d0]
    assert rows[1].labels == "Disease" and rows[1].status == "labelled"
    assert rows[0].status == "unlabelled"
    assert project.documents.filter(DocFilter(label="routine")) == [d1]


def test_status_follows_the_kind_of_the_view(project: Project) -> None:
    """A note labelled for entities only is not "labelled" in the classes view."""
    d0, d1, d2 = (doc_id(project, x) for x in ("d0", "d1", "d2"))
    ner = DocFilter(status="labelled", kind=TaskKind.NER)
    classify = DocFilter(status="labelled", kind=TaskKind.CLASSIFY)
    assert project.documents.filter(ner) == [d0]
    assert project.documents.filter(classify) == [d1]
    assert project.documents.filter(DocFilter(status="labelled")) == [d0, d1]
    assert project.documents.page([d0], kind=TaskKind.CLASSIFY)[0].status == "unlabelled"
    assert project.documents.page([d0], kind=TaskKind.CLASSIFY)[0].labels == ""
    add_suggestion(project, d2, "class", {"label": "urgent"})
    assert project.documents.page([d2], kind=TaskKind.CLASSIFY)[0].status == "suggested"
    assert project.documents.page([d2], kind=TaskKind.NER)[0].status == "unlabelled"
    assert project.documents.counts(TaskKind.NER).statuses == {
        "reviewed": 0, "skipped": 0, "suggested": 0, "labelled": 1, "unlabelled": 2,
    }
    assert project.documents.counts(TaskKind.CLASSIFY).statuses["suggested"] == 1
    project.annotations.set_review_status(d0, "reviewed")
    assert project.documents.counts(TaskKind.QA).statuses["reviewed"] == 1


def test_counts_summary(project: Project) -> None:
    counts = project.documents.counts()
    assert counts.stats["documents"] == 3
    assert "3 documents" in counts.summary() and "1 entities" in counts.summary()


def test_add_returns_summary_and_changes(project: Project) -> None:
    summary, changes = project.documents.add(
        [DocumentRecord(text="New note.", classes=("stat",)), DocumentRecord(text=TEXTS[0])]
    )
    assert (summary.documents_added, summary.duplicates) == (1, 1)
    assert summary.labels_added == ("stat",)
    assert isinstance(changes, Changes) and changes.document_set and changes.labels
    assert changes.inverse is None
    assert len(project.documents.filter()) == 4
    assert [r.text for r in project.documents.records()][-1] == "New note."


def test_heads_and_tasks(project: Project) -> None:
    d0 = doc_id(project, "d0")
    assert project.documents.heads([d0, 999], chars=7) == {d0: ("d0", "Patient")}
    tasks = project.documents.tasks()
    assert set(tasks) == {TaskKind.NER, TaskKind.CLASSIFY, TaskKind.QA}
    assert [lab.name for lab in tasks[TaskKind.NER].labels] == ["Disease", "Drug"]



def test_labelled_rule_is_the_kinds(project: Project) -> None:
    """A sentence imported as labelled for entities with none in it (CoNLL, only O tags) is
    labelled in the entities view; marking a document reviewed marks it done for every kind."""
    only_o = DocumentRecord(
        text="Nothing of note.", external_id="o", labelled_for=frozenset({TaskKind.NER})
    )
    project.documents.add([only_o])
    o = doc_id(project, "o")
    assert project.documents.page([o], kind=TaskKind.NER)[0].status == "labelled"
    assert project.documents.page([o], kind=TaskKind.CLASSIFY)[0].status == "unlabelled"
    assert o in project.documents.filter(DocFilter(status="labelled", kind=TaskKind.NER))
    d2 = doc_id(project, "d2")
    changes = project.annotations.set_review_status(d2, "reviewed")
    assert project.documents.page([d2], kind=TaskKind.CLASSIFY)[0].status == "reviewed"
    project.undo(changes)
    assert project.documents.page([d2], kind=TaskKind.CLASSIFY)[0].status == "unlabelled"


def _score(project: Project, did: int, task: str, value: float, strategy: str = "entropy") -> None:
    """What pre-annotation stores: the model's uncertainty for one document and task."""
    from sqlalchemy import select

    from core.store.models import DocumentScore, Task

    with project.write() as s:
        task_id = s.scalar(select(Task.id).where(Task.kind == task))
        s.add(DocumentScore(document_id=did, task_id=task_id, strategy=strategy, score=value))


def test_most_uncertain_first_puts_labelled_notes_after_the_ones_wanting_labels(
    project: Project,
) -> None:
    """d0 is labelled for entities and the most uncertain; in the entities view it comes
    last, in the classes view (where d1 is the labelled one) first."""
    d0, d1, d2 = (doc_id(project, x) for x in ("d0", "d1", "d2"))
    for did, value in ((d0, 0.9), (d1, 0.5), (d2, 0.7)):
        _score(project, did, "ner", value)
    _score(project, d1, "ner", 0.99, strategy="margin")  # another scale: not the one shown
    for did, value in ((d0, 0.2), (d1, 0.95), (d2, 0.4)):
        _score(project, did, "classify", value)
    ner = DocFilter(sort_by_score=True, kind=TaskKind.NER)
    assert project.documents.filter(ner) == [d2, d1, d0]
    classify = DocFilter(sort_by_score=True, kind=TaskKind.CLASSIFY)
    assert project.documents.filter(classify) == [d2, d0, d1]
    # The column shows the score of the view's task and strategy.
    assert [r.score for r in project.documents.page([d0, d1], kind=TaskKind.NER)] == [0.9, 0.5]
    assert project.documents.page([d1], kind=TaskKind.CLASSIFY)[0].score == 0.95
    # A reviewed note wants nothing either: it joins the labelled ones, by score.
    project.annotations.set_review_status(d2, "reviewed")
    assert project.documents.filter(ner) == [d1, d0, d2]


def test_labelled_note_stays_labelled_when_the_model_suggests_more(project: Project) -> None:
    """Pre-annotation predicts partly labelled notes too; d0 (labelled for entities) must not
    turn "suggested" after a training run, while d2 (nothing labelled) does."""
    d0, d2 = doc_id(project, "d0"), doc_id(project, "d2")
    add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"})
    add_suggestion(project, d2, "entity", {"start": 0, "end": 10, "label": "Disease"})
    rows = project.documents.page([d0, d2], kind=TaskKind.NER)
    assert [r.status for r in rows] == ["labelled", "suggested"]
    assert project.documents.filter(DocFilter(status="labelled", kind=TaskKind.NER)) == [d0]
    assert project.documents.filter(DocFilter(status="suggested", kind=TaskKind.NER)) == [d2]
    assert project.documents.counts(TaskKind.NER).statuses == {
        "reviewed": 0, "skipped": 0, "suggested": 1, "labelled": 1, "unlabelled": 1,
    }
    assert len(project.documents.get(d0).suggestions_of("entity")) == 1  # still shown


def test_per_second_order_puts_a_short_uncertain_note_before_a_long_one(
    project: Project,
) -> None:
    """Cost-aware order in the list: uncertainty per predicted second of labelling."""
    from core.types import DocumentRecord

    project.documents.add([
        DocumentRecord(text="Chest pain. " * 200, external_id="long"),
        DocumentRecord(text="Chest pain.", external_id="short"),
    ])
    long_, short = doc_id(project, "long"), doc_id(project, "short")
    _score(project, long_, "ner", 0.8)
    _score(project, short, "ner", 0.6)
    by_score = DocFilter(sort_by_score=True, kind=TaskKind.NER)
    assert project.documents.filter(by_score)[:2] == [long_, short]
    per_second = DocFilter(sort_by_score=True, per_second=True, kind=TaskKind.NER)
    assert project.documents.filter(per_second)[:2] == [short, long_]
