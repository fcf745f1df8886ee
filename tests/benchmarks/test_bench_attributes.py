"""benchmarks/bench_attributes.py: the NegEx TSV made into the project's JSONL (a span per
condition found from its upper-cased stretch, one document per distinct sentence, split by
report), checked on small made-up rows and on the real file; and the rules' scoring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_attributes import (
    DataError,
    attribute_scores,
    build_corpus,
    place_rows,
    read_rows,
    score_rules,
    split_reports,
    write_parts,
)

from core.formats.jsonl import parse_jsonl
from core.types import Split

HEADER = "report\tconcept\tsentence\tnegation\ttemporality\texperiencer\n"


def _tsv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "negex.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _row(report: int, concept: str, sentence: str, negation: str = "Affirmed",
         temporality: str = "Recent") -> str:
    return "\t".join([str(report), concept, sentence, negation, temporality, "Patient"])


def test_the_rows_of_a_sentence_make_one_document_with_the_text_as_written(
        tmp_path: Path) -> None:
    rows = read_rows(_tsv(
        tmp_path,
        _row(3, "chest pain", "He denies CHEST PAIN and Dyspnea.", "Negated"),
        _row(3, "Dyspnea", "He denies chest pain and DYSPNEA.", "Negated", "Historical"),
    ))
    corpus = build_corpus(rows)
    (doc,) = corpus.documents["train"]
    assert doc.text == "He denies chest pain and Dyspnea."
    assert [(doc.text[s.start:s.end], s.negation, s.temporality) for s in doc.spans] == [
        ("chest pain", "Negated", "Recent"), ("Dyspnea", "Negated", "Historical")]
    assert corpus.describe()["rows_not_placed"] == 0


def test_a_concept_written_twice_gives_its_rows_the_places_in_order(tmp_path: Path) -> None:
    rows = read_rows(_tsv(
        tmp_path,
        _row(9, "chest pain", "CHEST PAIN now, like the CHEST PAIN before.", "Affirmed"),
        _row(9, "chest pain", "CHEST PAIN now, like the CHEST PAIN before.", "Affirmed",
             "Historical"),
    ))
    placed, unplaced = place_rows(rows)
    assert not unplaced
    assert [(p.start, p.end) for p in placed] == [(0, 10), (25, 35)]
    assert placed[0].text == "chest pain now, like the chest pain before."
    (doc,) = build_corpus(rows).documents["train"]
    assert [s.temporality for s in doc.spans] == ["Recent", "Historical"]


def test_a_sentence_repeated_in_its_report_is_one_span(tmp_path: Path) -> None:
    rows = read_rows(_tsv(
        tmp_path,
        _row(2, "mitral regurgitation", "There is trace MITRAL REGURGITATION."),
        _row(2, "mitral regurgitation", "There is trace MITRAL REGURGITATION."),
    ))
    corpus = build_corpus(rows)
    (doc,) = corpus.documents["train"]
    assert len(doc.spans) == 1
    assert corpus.describe()["rows_merged_with_the_same_span"] == 1


def test_rows_that_cannot_be_placed_are_counted_with_the_reason(tmp_path: Path) -> None:
    rows = read_rows(_tsv(
        tmp_path,
        _row(39, "Pharynx good.  Moist   mucous membranes", "Pharynx good."),
        _row(39, "gout", "He has arthritis."),
        _row(27, "2+ pulses", "Extremities 2+ pulses."),  # not upper-cased: as written
    ))
    placed, unplaced = place_rows(rows)
    assert [(p.row.line, p.how) for p in placed] == [(4, "as written (not upper-cased)")]
    assert [(u.row.line, u.reason.split(" (")[0]) for u in unplaced] == [
        (2, "the concept runs past the end of the sentence"),
        (3, "the concept is not in the sentence, in upper case or as written")]


def test_split_by_report_with_dev_reports_and_sentences_seen_in_train(tmp_path: Path) -> None:
    same = "No pericardial effusion is seen."
    rows = read_rows(_tsv(
        tmp_path,
        _row(8, "pericardial effusion", "No PERICARDIAL EFFUSION is seen.", "Negated"),
        _row(41, "pericardial effusion", "No PERICARDIAL EFFUSION is seen.", "Negated"),
        _row(42, "fever", "She has FEVER.", "Affirmed"),
        _row(50, "pericardial effusion", "No PERICARDIAL EFFUSION is seen.", "Negated"),
        _row(51, "cough", "A COUGH.", "Affirmed"),
    ))
    corpus = build_corpus(rows, dev_reports=range(40, 46))
    docs = corpus.documents
    assert [d.text for d in docs["train"]] == [same]  # report 41's copy stays in train
    assert docs["train"][0].reports == [8, 41]
    assert [d.text for d in docs["dev"]] == ["She has fever."]
    assert [(d.text, d.seen_in_train) for d in docs["test"]] == [(same, True),
                                                                  ("A cough.", False)]
    files = write_parts(corpus, tmp_path / "out")
    train = parse_jsonl(files["train"].read_text(encoding="utf-8"), files["train"])
    assert [(r.text, r.split) for r in train] == [(same, Split.TRAIN),
                                                  ("She has fever.", Split.DEV)]
    assert [(s.start, s.end, s.label) for s in train[0].spans] == [(3, 23, "Condition")]
    unseen = [json.loads(line) for line in files["test_unseen"].read_text().splitlines()]
    assert [(r["text"], r["spans"][0]["attributes"]) for r in unseen] == [
        ("A cough.", {"negation": "Affirmed", "temporality": "Recent"})]


def test_an_overlapping_span_from_another_report_is_left_out(tmp_path: Path) -> None:
    rows = read_rows(_tsv(
        tmp_path,
        _row(2, "tricuspid regurgitation", "There is trace TRICUSPID REGURGITATION."),
        _row(32, "trace tricuspid regurgitation", "There is TRACE TRICUSPID REGURGITATION."),
    ))
    corpus = build_corpus(rows)
    (doc,) = corpus.documents["train"]
    assert [doc.text[s.start:s.end] for s in doc.spans] == ["tricuspid regurgitation"]
    assert corpus.describe()["rows_left_out_overlapping_lines"] == [3]


@pytest.mark.parametrize(("line", "message"), [
    ("1\tpain\tNo PAIN.\tMaybe\tRecent\tPatient", "negation 'Maybe' is not one of"),
    ("x\tpain\tNo PAIN.\tNegated\tRecent\tPatient", "the report 'x' is not a number"),
    ("1\tpain\tNo PAIN.\tNegated", "expected 6 tab-separated fields, found 4"),
])
def test_a_bad_row_is_named_by_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _tsv(tmp_path, _row(1, "cough", "A COUGH."), line)
    with pytest.raises(DataError, match=f"negex.tsv:3: {message}"):
        read_rows(path)


def test_a_bad_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("sentence\tlabel\nA COUGH.\tAffirmed\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.tsv:1: expected the header"):
        read_rows(path)


def test_attribute_scores_give_each_value_its_precision_recall_and_f1() -> None:
    scores = attribute_scores(["Negated", "Negated", "Affirmed", "Affirmed"],
                              ["Negated", "Affirmed", "Negated", "Affirmed"],
                              ["Affirmed", "Negated"])
    assert scores["accuracy"] == 0.5
    assert scores["per_value"]["Negated"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                              "support": 2}


def test_the_real_file(shared_data: Path) -> None:
    rows = read_rows(shared_data / "attributes" / "negex-train.tsv")
    assert len(rows) == 1194
    placed, unplaced = place_rows(rows)
    # Four concepts run past the end of their (cut) sentence; every other row is placed.
    assert len(unplaced) == 4
    assert {u.reason.split(" (")[0] for u in unplaced} == {
        "the concept runs past the end of the sentence"}
    for p in placed:  # the span reads as the concept, in the concept's own case
        assert p.text[p.start:p.end] == p.row.concept.strip()
        assert p.text.lower() == p.row.sentence.lower()
    corpus = build_corpus(rows)
    info = corpus.describe()
    assert info["sentences_whose_rows_disagree_on_the_text"] == 0
    assert info["merged_rows_with_other_values"] == 0
    spans = sum(part["spans"] for part in info["parts"].values())
    assert spans + info["rows_merged_with_the_same_span"] + \
        info["rows_left_out_overlapping_another_span"] == len(placed)
    test = corpus.documents["test"]
    assert {r for d in test for r in d.reports} <= set(range(46, 61))
    # the primary rules: most test spans right, and the same answer every time
    from core.negex import RuleSettings

    first = score_rules(test, RuleSettings())
    assert first == score_rules(test, RuleSettings())
    assert first["temporality_accuracy"] > 0.8 and first["negated_f1"] > 0.6


def test_a_choice_fold_scores_its_reports_and_trains_on_the_rest_of_1_to_45(
        tmp_path: Path) -> None:
    rows = read_rows(_tsv(tmp_path,
                          _row(3, "fever", "He had FEVER.", temporality="Historical"),
                          _row(20, "cough", "No COUGH.", negation="Negated"),
                          _row(50, "rash", "A RASH.")))
    train, test = split_reports(fold="1-15")
    corpus = build_corpus(rows, range(0), train, test)
    assert [d.text for d in corpus.documents["test"]] == ["He had fever."]
    assert [d.text for d in corpus.documents["train"]] == ["No cough."]  # 50 is not read
    assert split_reports() == (range(1, 46), range(46, 61))
    assert split_reports(choice=True) == (range(1, 40), range(40, 46))
    for bad in ("40-50", "0-3", "x-y", "9-3"):
        with pytest.raises(ValueError, match=f"--choice-fold {bad}: .* within 1-45"):
            split_reports(fold=bad)


def test_a_rules_only_run_on_a_fold_leaves_out_the_empty_dev_part(tmp_path: Path) -> None:
    import subprocess

    tsv = _tsv(tmp_path,
               _row(3, "fever", "He had FEVER in the past.", temporality="Historical"),
               _row(20, "cough", "No COUGH.", negation="Negated"),
               _row(50, "rash", "A RASH."))
    out = tmp_path / "rules.json"
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_attributes.py"
    done = subprocess.run([sys.executable, str(bench), "--data", str(tsv), "--choice-fold", "1-15",
                           "--rules-only", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rules = json.loads(out.read_text(encoding="utf-8"))["rules"]["rules"]
    assert sorted(rules) == ["test", "test_unseen", "train"]  # no dev documents: no 0.0 scores
    assert rules["test"]["attributes"]["temporality"]["spans"] == 1
    assert rules["train"]["attributes"]["negation"]["spans"] == 1
