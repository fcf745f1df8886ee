"""The help pages say what the app does now."""

from __future__ import annotations

from annotator.app.qt_help import HOW_TO_HTML
from core.active import strategies
from core.engine.prepare import MIN_DEV_SPLIT
from core.engine.settings import TrainingSettings
from core.project.queries import SCORE_STRATEGY


def _plain(html: str) -> str:
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(html)
    return " ".join(doc.toPlainText().split())


def test_how_to_work_describes_most_uncertain_first_as_the_list_sorts(qapp) -> None:  # type: ignore[no-untyped-def]
    """It said the documents the model is least sure about come first; labelled, reviewed
    and skipped notes now follow those that still need labels, whatever their score, and
    the score is the entropy of the model's probabilities over the three most uncertain
    words or questions (tests/annotator/test_review_flow.py checks the order itself)."""
    text = _plain(HOW_TO_HTML)
    assert ("the documents that still need labels for the tab shown come first (for answers: "
            "a question without an answer), the one the model is least sure about at the top, "
            "then those not predicted yet; documents already labelled, reviewed or skipped "
            "follow") in text
    assert SCORE_STRATEGY == "entropy" and "the entropy of its probabilities" in text
    assert strategies.DEFAULT_TOP_K == 3 and "three most uncertain words" in text
    assert "0 when the model is sure, up to 1 when it is guessing" in text
    # Pre-annotation: every unreviewed document but the test ones.
    assert "documents nobody has reviewed yet (not the test ones)" in text
    # The held-out share: "about one in seven", none below MIN_DEV_SPLIT labelled documents.
    assert round(1 / TrainingSettings().dev_fraction) == 7 and "about one in seven" in text
    assert MIN_DEV_SPLIT == 5 and "none when fewer than five are labelled" in text


def test_the_sheet_names_the_projects_own_attribute_keys(qapp) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_attribute_bar import attribute_keys
    from annotator.app.qt_help import shortcut_sheet_html
    from core.types import AttributeSpec

    specs = [AttributeSpec("certainty", ("Certain", "Possible")),
             AttributeSpec("experiencer", ("Patient", "Family"))]
    keys = attribute_keys(specs, taken={"a", "r", "1", "2"})
    text = _plain(shortcut_sheet_html([], keys))
    assert keys == {"certainty": "c", "experiencer": "e"}
    assert "C the next value of certainty" in text and "E the next value of experiencer" in text
    assert "N, T" not in text  # not the general example
    assert "N, T" in _plain(shortcut_sheet_html([]))  # which stays without a project's keys
