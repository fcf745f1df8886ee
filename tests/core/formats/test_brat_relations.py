"""brat R lines: relations read (mapped to the project's types and checked, refused with the
.ann line), written back, imported and exported as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run
from core.errors import InputError
from core.formats import read_brat, read_file, write_file
from core.project import Project
from core.types import DocumentRecord, EntitySpan, Relation, RelationSpec, TaskKind

from .conftest import assert_input_error

TEXT = "Aspirin 100 mg daily; warfarin 5 mg at night."
ENTITIES = ("T1\tMedication 0 7\tAspirin\nT2\tDosage 8 14\t100 mg\n"
            "T3\tMedication 22 30\twarfarin\nT4\tDosage 31 35\t5 mg\n")
TYPES = (RelationSpec("dosage_of", ("Dosage",), ("Medication",)),)


def pair(folder: Path, stem: str, text: str, ann: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
    (folder / f"{stem}.ann").write_text(ann, encoding="utf-8")
    return folder / f"{stem}.ann"


def test_relations_are_read_mapped_to_the_types_and_marked(tmp_path: Path) -> None:
    ann = pair(tmp_path, "n1", TEXT, ENTITIES + "R1\tDosage_Of Arg1:T2 Arg2:T1\n"
                                                "R2\tdosage_of Arg2:T3 Arg1:T4\n"
                                                "#1\tAnnotatorNotes R1\tchecked\n")
    (record,), report = read_brat(ann, relations=TYPES)
    assert record.relations == (Relation(1, 0, "dosage_of"), Relation(3, 2, "dosage_of"))
    assert TaskKind.RELATION in record.labelled_for
    assert report.skipped == {"notes": 1}
    # without the project's types, the type is taken as written
    assert read_file(ann)[0].relations[0] == Relation(1, 0, "Dosage_Of")
    # a document without R lines: labelled for relations when the project declares types
    plain = pair(tmp_path / "plain", "n2", TEXT, ENTITIES)
    assert TaskKind.RELATION in read_brat(plain, relations=TYPES)[0][0].labelled_for
    assert TaskKind.RELATION not in read_brat(plain)[0][0].labelled_for
    # skipped on request, as before
    (skipped,), report = read_brat(ann, relations=TYPES, skip=("relations",))
    assert skipped.relations == () and report.skipped == {"relations": 2, "notes": 1}


@pytest.mark.parametrize("lines, line, words", [
    ("R1\tdosage_of Arg1:T2\n", 5, ["R1", "Arg1:T1 Arg2:T2"]),
    ("R1\tdosage_of Arg1:T2 Arg3:T1\n", 5, ["Arg1 its head"]),
    ("R1\tdosage_of Arg1:T2 Arg2:T9\n", 5, ["Arg2, T9, is not defined"]),
    ("R1\tdosage_of Arg1:T2 Arg2:T2\n", 5, ["itself"]),
    ("R1\troute_of Arg1:T2 Arg2:T1\n", 5, ["unknown relation 'route_of'", "'dosage_of'"]),
    ("R1\tdosage_of Arg1:T1 Arg2:T2\n", 5,
     ["does not link a Medication entity to a Dosage"]),
    ("R1\tdosage_of Arg1:T2 Arg2:T1\nA1\tNegated R1\n", 6, ["attributes of relations"]),
])
def test_a_bad_relation_names_the_ann_and_its_line(tmp_path: Path, lines: str, line: int,
                                                   words: list[str]) -> None:
    ann = pair(tmp_path, "bad", TEXT, ENTITIES + lines)
    with pytest.raises(InputError) as info:
        read_brat(ann, relations=TYPES)
    assert_input_error(info.value, ann, line, *words)


def test_relations_are_written_back(tmp_path: Path) -> None:
    record = DocumentRecord(TEXT, external_id="n1", spans=(
        EntitySpan(0, 7, "Medication"), EntitySpan(8, 14, "Dosage"),
        EntitySpan(22, 30, "Medication"), EntitySpan(31, 35, "Dosage")),
        relations=(Relation(1, 0, "dosage_of"), Relation(3, 2, "dosage_of")))
    out = tmp_path / "out"
    write_file([record], out, "brat")
    assert (out / "n1.ann").read_text(encoding="utf-8") == (
        ENTITIES + "R1\tdosage_of Arg1:T2 Arg2:T1\nR2\tdosage_of Arg1:T4 Arg2:T3\n")
    assert read_brat(out, relations=TYPES)[0][0].relations == record.relations


def test_import_and_export_through_the_cli(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    pair(corpus, "n1", TEXT, ENTITIES + "R1\tdosage_of Arg1:T2 Arg2:T1\n"
                                        "R2\tdosage_of Arg1:T4 Arg2:T3\n")
    db = str(tmp_path / "p.db")
    assert run(["init", db, "--task", "ner", "--labels", "Medication,Dosage",
                "--relation", "dosage_of=Dosage>Medication"]) == 0
    assert run(["import", db, str(corpus), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["documents_added"] == 1
    with Project.open(db) as p:
        doc = p.documents.get(p.documents.filter()[0])
        assert [(r.head, r.tail, r.label) for r in doc.relations] == [
            ((8, 14), (0, 7), "dosage_of"), ((31, 35), (22, 30), "dosage_of")]
    assert run(["export", db, str(tmp_path / "out"), "--format", "brat"]) == 0
    assert (tmp_path / "out" / "n1.ann").read_text(encoding="utf-8") == (
        (corpus / "n1.ann").read_text(encoding="utf-8"))
