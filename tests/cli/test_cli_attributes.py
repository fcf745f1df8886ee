"""``annotator init --attribute``: attributes of entities declared from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_declares_repeated_attributes(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.db"
    code, out, _ = cli(
        "init", str(db), "--task", "ner", "--labels", "Condition,Medication",
        "--attribute", "negation=Affirmed,Negated",
        "--attribute", "temporality=Recent,Historical,Not particular@Condition", "--json",
        capsys=capsys)
    assert code == 0
    assert json.loads(out)["attributes"] == [
        {"name": "negation", "values": ["Affirmed", "Negated"], "labels": None},
        {"name": "temporality", "values": ["Recent", "Historical", "Not particular"],
         "labels": ["Condition"]},
    ]
    # the same again changes nothing; another declaration of a name is refused
    code, out, _ = cli("init", str(db), "--task", "ner", "--attribute",
                       "negation=Affirmed,Negated", "--json", capsys=capsys)
    assert code == 0 and len(json.loads(out)["attributes"]) == 2
    code, _, err = cli("init", str(db), "--task", "ner", "--attribute", "negation=Yes,No",
                       capsys=capsys)
    assert code != 0 and "declared already as negation=Affirmed,Negated" in err
    code, out, _ = cli("init", str(db), "--task", "ner", capsys=capsys)
    assert "attribute temporality=Recent,Historical,Not particular@Condition" in out


@pytest.mark.parametrize("spec, words", [
    ("negation", "name=value,value"),
    ("negation=Affirmed", "at least two values"),
    ("negation=Affirmed,Affirmed", "twice"),
    ("negation=Affirmed,,Negated", "empty"),
    ("negation=Affirmed,Negated@Condition@Medication", "one '@' at most"),
    ("negation=Affirmed,Negated@Drug", "'Drug'"),
])
def test_bad_attribute_specs_are_refused_and_no_file_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, words: str
) -> None:
    db = tmp_path / "bad.db"
    code, _, err = cli("init", str(db), "--task", "ner", "--labels", "Condition,Medication",
                       "--attribute", spec, capsys=capsys)
    assert code == 2 and words in err and "--attribute" in err or "Drug" in err
    assert not db.exists()


def test_attributes_are_for_entities_only(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("init", str(tmp_path / "c.db"), "--task", "classify", "--labels", "a,b",
                       "--attribute", "negation=Affirmed,Negated", capsys=capsys)
    assert code == 2 and "--task ner" in err


def test_help_shows_the_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["init", "--help"])
    out = capsys.readouterr().out
    assert "--attribute" in out and "negation=Affirmed,Negated@Condition" in out


def test_stats_counts_attribute_values(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.db"
    data = tmp_path / "notes.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"text": "No fever, mild cough.", "spans": [
            {"start": 3, "end": 8, "label": "Condition", "attributes": {"negation": "Negated"}},
            {"start": 15, "end": 20, "label": "Condition"}]},
        {"text": "Takes aspirin.", "spans": [{"start": 6, "end": 13, "label": "Drug"}]},
    ]) + "\n", encoding="utf-8")
    cli("init", str(db), "--task", "ner", "--labels", "Condition,Drug",
        "--attribute", "negation=Affirmed,Negated@Condition", capsys=capsys)
    assert cli("import", str(db), str(data), capsys=capsys)[0] == 0
    code, out, _ = cli("stats", str(db), "--json", capsys=capsys)
    assert code == 0
    # the Drug has no negation (it applies to Condition); the unmarked cough is Affirmed
    assert json.loads(out)["attribute_values"] == {"negation": {"Affirmed": 1, "Negated": 1}}
    code, out, _ = cli("stats", str(db), capsys=capsys)
    assert code == 0
    assert "attribute negation: Affirmed 1, Negated 1" in out
