"""Text that breaks offsets: emoji (outside the BMP, ZWJ sequences), combining accents, CJK,
right-to-left text, tabs, CRLF and lone CR. Every span keeps exactly the same characters
through import → store → export → import, through the engine's word alignment and its
predictions, and through the GUI's UTF-16 conversion."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.project import Project
from core.store import repo
from core.types import DocumentRecord, EntitySpan

from .reliability_lib import Tally, run_cli

TALLY = Tally("offsets")


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    TALLY.emit()


# (text, the substrings labelled in it, in order)
TRICKY: list[tuple[str, list[tuple[str, str]]]] = [
    ("Patient 😀 has flu 🤒 and 🇬🇧 cough", [("flu", "Disease"), ("cough", "Symptom")]),
    ("Family 👨‍👩‍👧 reports fever 🤒🤒 twice", [("fever", "Symptom"), ("👨‍👩‍👧", "Other")]),
    ("cafe\u0301 au lait spots; re\u0301sume\u0301 of nai\u0308ve T cells", [("cafe\u0301", "Sign"), ("nai\u0308ve", "Other")]),
    ("患者は インフルエンザ と診断された。咳もある", [("インフルエンザ", "Disease"), ("咳", "Symptom")]),
    ("المريض يعاني من الحمى والسعال", [("الحمى", "Symptom"), ("والسعال", "Symptom")]),
    ("Hebrew \u200fחום גבוה\u200f then aspirin", [("חום", "Symptom"), ("aspirin", "Drug")]),
    ("flu\tcough\t\tfever\tend", [("cough", "Symptom"), ("fever", "Symptom")]),
    ("line one flu\r\nline two cough\r\n\r\nthird aspirin\r\n", [("flu", "Disease"), ("aspirin", "Drug")]),
    ("old mac note\rflu here\rcough there\r", [("flu", "Disease"), ("cough", "Symptom")]),
    ("nbsp\u00a0flu zero\u200bwidth \u2028sep cough\u2029end", [("flu", "Disease"), ("cough", "Symptom")]),
    ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝐟𝐥𝐮 and 𠀋 rare CJK", [("𝐟𝐥𝐮", "Disease"), ("𠀋", "Other")]),
]


def _record(text: str, labels: list[tuple[str, str]]) -> DocumentRecord:
    spans, pos = [], 0
    for surface, label in labels:
        start = text.index(surface, pos) if surface in text[pos:] else text.index(surface)
        spans.append(EntitySpan(start, start + len(surface), label))
        pos = start + len(surface)
    return DocumentRecord(text, spans=tuple(sorted(spans, key=lambda s: s.start)))


def _surfaces(record: DocumentRecord) -> list[tuple[str, str]]:
    return sorted((record.text[s.start:s.end], s.label) for s in record.spans)


RECORDS = [_record(t, labels) for t, labels in TRICKY]


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_import_store_export_import_keeps_characters(tmp_path: Path, ensure_ascii: bool) -> None:
    formats = importlib.import_module("core.formats")
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"text": r.text, "label": [[s.start, s.end, s.label] for s in r.spans]},
                           ensure_ascii=ensure_ascii) + "\n" for r in RECORDS),
        encoding="utf-8", newline="",
    )
    project = tmp_path / "p.db"
    Project.create(project, tasks={"ner": []}).close()
    rc, _, err = run_cli("import", str(project), str(src))
    assert rc == 0, err
    with Project.open(project, readonly=True) as p:
        with p.read() as s:
            stored = list(repo.iter_records(s))
    assert [r.text for r in stored] == [r.text for r in RECORDS], "the store changed a text"
    for want, got in zip(RECORDS, stored):
        assert _surfaces(got) == _surfaces(want)
    out = tmp_path / "out.jsonl"
    rc, _, err = run_cli("export", str(project), str(out), "--format", "jsonl")
    assert rc == 0, err
    back = formats.read_file(out, "jsonl")
    assert [r.text for r in back] == [r.text for r in RECORDS], "export/import changed a text"
    for want, got in zip(RECORDS, back):
        assert _surfaces(got) == _surfaces(want)
    TALLY.add("tricky texts through jsonl import/store/export/import", len(RECORDS))


def test_conll_export_keeps_span_characters(tmp_path: Path) -> None:
    """CoNLL re-tokenizes (tokens joined by one space), so a span's characters survive up to
    white space inside the span; spans without inner white space survive exactly."""
    formats = importlib.import_module("core.formats")
    out = tmp_path / "out.conll"
    formats.write_file(RECORDS, out, "conll")
    back = formats.read_file(out, "conll")
    want = sorted(("".join(t.split()), lab) for r in RECORDS for t, lab in _surfaces(r))
    got = sorted(("".join(t.split()), lab) for r in back for t, lab in _surfaces(r))
    assert got == want
    TALLY.add("tricky texts through conll export/import", len(RECORDS))


def test_squad_answers_keep_characters(tmp_path: Path) -> None:
    formats = importlib.import_module("core.formats")
    from core.types import Answer, Question

    records = []
    for r in RECORDS:
        s = r.spans[0]
        records.append(DocumentRecord(
            r.text, external_id=f"t#{len(records)}",
            questions=(Question("What?", (Answer(s.start, s.end, r.text[s.start:s.end]),), external_id=str(len(records))),),
        ))
    out = tmp_path / "out.json"
    formats.write_file(records, out, "squad")
    back = formats.read_file(out, "squad")
    assert [(b.text, b.questions[0].answers[0].text) for b in back] == [
        (r.text, r.questions[0].answers[0].text) for r in records
    ]
    TALLY.add("tricky texts through squad export/import", len(records))


def test_csv_keeps_tricky_texts(tmp_path: Path) -> None:
    formats = importlib.import_module("core.formats")
    out = tmp_path / "out.csv"
    formats.write_file([DocumentRecord(r.text) for r in RECORDS], out, "csv")
    assert [r.text for r in formats.read_file(out, "csv")] == [r.text for r in RECORDS]


def test_engine_word_alignment_round_trip() -> None:
    alignment = importlib.import_module("core.engine.alignment")
    n = 0
    for r in RECORDS:
        tagging = alignment.spans_to_word_tags(r.text, r.spans)
        assert not tagging.dropped
        spans = alignment.word_tags_to_spans(tagging.words, tagging.tags)
        assert _surfaces(DocumentRecord(r.text, spans=tuple(spans))) == _surfaces(r)
        for w in tagging.words:  # no word starts on a combining mark or inside a pair
            assert not r.text[w.start:w.end].isspace()
        n += len(r.spans)
    TALLY.add("spans through the engine's word alignment", n)


def test_engine_predictions_land_on_characters(tiny_ner: Path) -> None:
    """Random weights predict spans all over the text: every one must lie inside the text,
    start and end on word boundaries, and quote exactly ``text[start:end]``."""
    predict = importlib.import_module("core.engine.predict")
    alignment = importlib.import_module("core.engine.alignment")
    predictor = predict.Predictor(tiny_ner, device="cpu")
    texts = [r.text for r in RECORDS] + [r.text * 12 for r in RECORDS[:4]]  # long: windows
    preds = predictor.predict([DocumentRecord(t) for t in texts])
    checked = 0
    for text, pred in zip(texts, preds):
        words = alignment.split_words(text)
        starts = {w.start for w in words}
        ends = {w.end for w in words}
        for sp in pred.spans:
            assert 0 <= sp.start < sp.end <= len(text)
            assert sp.text == text[sp.start:sp.end]
            assert sp.start in starts and sp.end in ends, (text, sp)
            checked += 1
        for a, b in pred.word_offsets:
            assert 0 <= a < b <= len(text)
    TALLY.add("predicted spans checked on tricky texts", checked)


def test_gui_utf16_conversion_round_trip() -> None:
    offsets = importlib.import_module("annotator.app.offsets")
    positions = 0
    for r in RECORDS:
        index = offsets.Utf16Index(r.text)
        assert index.utf16_len == len(r.text.encode("utf-16-le")) // 2
        for cp in range(len(r.text) + 1):
            u16 = index.to_utf16(cp)
            assert u16 == len(r.text[:cp].encode("utf-16-le")) // 2
            assert index.to_code_point(u16) == cp
            positions += 1
        for s in r.spans:
            a16, b16 = index.span_to_utf16(s.start, s.end)
            assert index.span_to_code_points(a16, b16) == (s.start, s.end)
            units = r.text.encode("utf-16-le")[2 * a16 : 2 * b16].decode("utf-16-le")
            assert units == r.text[s.start:s.end]
        shown = offsets.display_text(r.text)
        assert len(shown) == len(r.text)
        for s in r.spans:
            assert shown[s.start:s.end] == r.text[s.start:s.end].replace("\r", "\n")
    TALLY.add("UTF-16 positions round-tripped", positions)


def test_half_selected_emoji_widens_to_whole_character() -> None:
    offsets = importlib.import_module("annotator.app.offsets")
    text = "a😀b"
    index = offsets.Utf16Index(text)
    # Qt may report a selection ending between the two halves of the emoji.
    assert index.span_to_code_points(1, 2) == (1, 2)
    assert text[slice(*index.span_to_code_points(1, 2))] == "😀"


def test_qt_document_sees_the_same_characters(qapp) -> None:  # type: ignore[no-untyped-def]
    """What the GUI shows: a QTextDocument of display_text, spans selected by UTF-16
    positions, quotes the stored characters (CR shown as a line break)."""
    offsets = importlib.import_module("annotator.app.offsets")
    from PySide6.QtGui import QTextCursor, QTextDocument

    n = 0
    for r in RECORDS:
        doc = QTextDocument()
        doc.setPlainText(offsets.display_text(r.text))
        index = offsets.Utf16Index(r.text)
        assert doc.characterCount() - 1 == index.utf16_len, repr(r.text)
        for s in r.spans:
            a16, b16 = index.span_to_utf16(s.start, s.end)
            cursor = QTextCursor(doc)
            cursor.setPosition(a16)
            cursor.setPosition(b16, QTextCursor.MoveMode.KeepAnchor)
            selected = cursor.selectedText().replace("\u2029", "\n")
            assert selected == r.text[s.start:s.end].replace("\r", "\n").replace("\u2028", "\n"), repr(r.text)
            n += 1
    TALLY.add("spans selected in a QTextDocument", n)

