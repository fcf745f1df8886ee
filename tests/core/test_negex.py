"""The NegEx / ConText rules of core/negex.py on sentences whose answer NegEx's
papers and trigger lists settle: pre- and post-condition triggers, pseudo-triggers, the
window of five words, termination terms, and ConText's historical and hypothetical
triggers. The condition is in ``[[ ]]`` (upper case, as in the NegEx test set)."""

from __future__ import annotations

import re

import pytest

from core.negex import NEGATION_TERMS, Lexicon, RuleSettings, assess, tokens


def _span(sentence: str) -> tuple[str, int, int]:
    """The sentence without the ``[[ ]]`` around its condition, and the condition's span."""
    found = list(re.finditer(r"\[\[(.+?)\]\]", sentence))
    assert len(found) == 1, f"one [[condition]] expected in {sentence!r}"
    m = found[0]
    text = sentence[:m.start()] + m.group(1) + sentence[m.end():]
    return text, m.start(), m.start() + len(m.group(1))


def _rules(sentence: str, **settings: object):  # type: ignore[no-untyped-def]
    text, start, end = _span(sentence)
    return assess(text, start, end, RuleSettings(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(("sentence", "expected", "trigger"), [
    ("no evidence of [[PNEUMONIA]]", "Negated", "no evidence"),
    ("[[PNEUMONIA]] was ruled out", "Negated", "was ruled out"),
    ("The patient denies [[CHEST PAIN]].", "Negated", "denies"),
    ("Lungs are clear without [[WHEEZES]].", "Negated", "without"),
    ("She is negative for [[HEPATITIS]].", "Negated", "negative for"),
    ("The pelvis is free of [[FRACTURES]].", "Negated", "free of"),
    ("no increase in [[PAIN]]", "Affirmed", None),  # pseudo-negation
    ("There is no significant change in the [[EFFUSION]].", "Affirmed", None),  # pseudo
    ("Gram negative [[RODS]] were grown.", "Affirmed", None),  # pseudo
    ("The patient reports [[PAIN]].", "Affirmed", None),
    # termination: "but" ends the scope of "denies"
    ("The patient denies chest pain but has [[SHORTNESS OF BREATH]].", "Affirmed", None),
    ("The patient denies [[CHEST PAIN]] but has shortness of breath.", "Negated", "denies"),
    # NegEx's "possible" counts as negated (its own evaluation of this test set does)
    ("CT to rule out [[PULMONARY EMBOLISM]].", "Negated", "rule out"),
])
def test_negation(sentence: str, expected: str, trigger: str | None) -> None:
    result = _rules(sentence)
    assert result.negation == expected
    assert (result.negation_trigger.phrase if result.negation_trigger else None) == trigger


def test_possible_can_count_as_affirmed() -> None:
    assert _rules("CT to rule out [[PULMONARY EMBOLISM]].", possible_as_negated=False).negation \
        == "Affirmed"
    # a plain negation is still negated
    assert _rules("no evidence of [[PNEUMONIA]]", possible_as_negated=False).negation == "Negated"


def test_the_window_of_five_words() -> None:
    five = "No fever, chills, nausea, vomiting or [[DIARRHEA]]."  # five words between
    six = "No fever, chills, nausea, vomiting, cough or [[DIARRHEA]]."  # six
    assert _rules(five).negation == "Negated"
    assert _rules(six).negation == "Affirmed"
    assert _rules(six, negation_window=None).negation == "Negated"  # to the sentence's end
    assert _rules("[[DIARRHEA]] is absent, not really anything at all, not").negation == "Affirmed"


def test_a_colon_ends_the_scope_of_a_negation() -> None:
    assert _rules("No change: [[EDEMA]] of the legs.").negation == "Affirmed"
    assert _rules("Not seen: [[EDEMA]].").negation == "Affirmed"
    assert _rules("Not seen [[EDEMA]].").negation == "Negated"


def test_a_trigger_inside_the_condition_does_not_count() -> None:
    # "free" is a post-condition negation trigger ("tumor free"), not inside "free air"
    assert _rules("There is [[FREE AIR]] under the diaphragm.").negation == "Affirmed"
    assert _rules("The margins are [[TUMOR]] free.").negation == "Negated"


@pytest.mark.parametrize(("sentence", "expected", "trigger"), [
    ("history of [[DIABETES]]", "Historical", "history"),
    ("PAST MEDICAL HISTORY: significant for asthma and [[DIABETES]].", "Historical", "history"),
    ("She is known to have [[CIRRHOSIS]].", "Historical", "known to have"),
    ("He is status post [[CHOLECYSTECTOMY]].", "Historical", "status post"),
    ("He has had [[COUGH]] for the past 3 weeks.", "Historical", "for the past 3 weeks"),
    ("He has had [[COUGH]] for the past 3 days.", "Recent", None),  # days end a history
    ("history of present illness: [[CHEST PAIN]].", "Recent", None),  # pseudo-trigger
    # termination: "presented" ends the scope of "history"
    ("With a history of asthma, she presented with [[WHEEZING]].", "Recent", None),
    ("Return to the clinic if you develop [[FEVER]].", "Not particular", "if"),
    ("Return for [[FEVER]] or chills.", "Not particular", "return"),
    ("Call for [[SHORTNESS OF BREATH]].", "Not particular", "call"),
    ("Tylenol as needed for [[PAIN]].", "Not particular", "as needed"),
    ("The patient has [[PNEUMONIA]].", "Recent", None),
])
def test_temporality(sentence: str, expected: str, trigger: str | None) -> None:
    result = _rules(sentence)
    assert result.temporality == expected
    assert (result.temporality_trigger.phrase if result.temporality_trigger else None) \
        == trigger


def test_a_one_word_trigger_reaches_three_words() -> None:
    assert _rules("prior left knee [[REPLACEMENT]]").temporality == "Historical"
    assert _rules("prior to the visit the knee showed [[SWELLING]]").temporality == "Recent"
    assert _rules("prior to the visit the knee showed [[SWELLING]]",
                  one_word_window=10).temporality == "Historical"


def test_tokens_keep_clinical_abbreviations_whole() -> None:
    assert [t.text for t in tokens("R/O pre-existing s/p patient's 2+ edema.")] == [
        "r/o", "pre-existing", "s/p", "patient's", "2", "+", "edema", "."]
    text = "R/O edema"
    assert [text[t.start:t.end] for t in tokens(text)] == ["R/O", "edema"]


def test_the_trigger_lists_are_the_published_ones() -> None:
    lexicon = Lexicon(NEGATION_TERMS)
    # negex_triggers.txt (chapmanbe/negex) lists 272 terms, none twice
    assert len(lexicon) == 272
    assert lexicon.by_words[("no", "increase")] == "PSEU"
    assert lexicon.by_words[("was", "ruled", "out")] == "POST"
    assert lexicon.by_words[("r/o",)] == "PREP"


def test_bad_spans_and_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="bad span"):
        assess("no pain", 3, 99)
    with pytest.raises(ValueError, match="holds no word"):
        assess("no  pain", 2, 4)
    with pytest.raises(ValueError, match="negation_window"):
        RuleSettings(negation_window=-1)
