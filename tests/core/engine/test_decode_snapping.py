"""Decoding entity tags into spans that snap to words (issue: "chest X-", "renal" + "ultrasound").

A tiny model cannot learn these cases, so the model's output is made by hand: one sub-word per
word, and per word a logit row that strongly prefers the tag a small model gave on the demo
notes. The texts are sentences of the shipped demo notes.
"""

from __future__ import annotations

import numpy as np

from core.engine.alignment import bio_tags, split_words
from core.engine.features import Feature, NerExample
from core.engine.settings import TaskSpec
from core.tasks.ner import decode_entities
from core.types import TaskKind

SPEC = TaskSpec(TaskKind.NER, ("Disease", "Medication", "Dosage", "Procedure"))


def decode(text: str, tagged: dict[str, str],  # type: ignore[no-untyped-def]
           probs: dict[str, dict[str, float]] | None = None):
    """Decode ``text`` where the words named in ``tagged`` (word -> tag, first occurrence from
    left to right, each word once) get that tag and every other word ``O``. ``probs`` gives
    some of the tagged words a whole distribution instead (the rest shared by the other
    tags)."""
    tags = bio_tags(SPEC.labels)
    words = split_words(text)
    strings = [text[w.start:w.end] for w in words]
    chosen = ["O"] * len(words)
    given: dict[int, dict[str, float]] = {}
    i = 0
    for word, tag in tagged.items():
        i = strings.index(word, i)
        chosen[i] = tag
        if probs and word in probs:
            given[i] = probs[word]
        i += 1
    n = len(words)
    example = NerExample(words, strings, first_positions={k: k for k in range(n)},
                         bounds=[(0, n)], n_tokens=n)
    feature = Feature(input_ids=[0] * (n + 2), token_type_ids=[0] * (n + 2), example=0,
                      window=(0, n), content_offset=1)
    logits = np.zeros((n + 2, len(tags)), dtype=np.float32)
    for k, tag in enumerate(chosen):
        logits[k + 1, tags.index(tag)] = 8.0
        if k in given:
            rest = (1.0 - sum(given[k].values())) / (len(tags) - len(given[k]))
            logits[k + 1] = np.log([given[k].get(t, rest) for t in tags])
    return decode_entities(SPEC, text, example, [feature], [logits])


def found(pred) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(s.text, s.label) for s in pred.spans]


def test_two_b_tags_of_one_name_are_one_entity() -> None:
    text = "Please consider a renal ultrasound. Also known community-acquired pneumonia."
    pred = decode(text, {"renal": "B-Procedure", "ultrasound": "B-Procedure"})
    assert found(pred) == [("renal ultrasound", "Procedure")]
    # The tags follow the span, so metrics and uncertainty see the same entity.
    words = [text[a:b] for a, b in pred.word_offsets]
    assert pred.word_tags[words.index("ultrasound")] == "I-Procedure"
    (span,) = pred.spans
    # The model's own probability of I-Procedure for "ultrasound" counts in the confidence.
    assert span.confidence < 0.99


def test_a_label_split_between_b_and_i_joins_the_entity_before() -> None:
    """Distributions a model trained on the demo notes gave: "dipstick" (seen once, inside
    "urine dipstick") is B-Medication by a hair, but Procedure as B and I together."""
    text = "Continue metformin 500 mg twice daily. urine dipstick booked for tomorrow."
    tagged = {"metformin": "B-Medication", "500": "B-Dosage", "mg": "I-Dosage",
              "twice": "I-Dosage", "daily": "I-Dosage", "urine": "B-Procedure",
              "dipstick": "B-Medication"}
    probs = {
        "dipstick": {"B-Medication": 0.26, "B-Procedure": 0.18, "I-Procedure": 0.14,
                     "I-Medication": 0.05},
        "500": {"B-Dosage": 0.73, "I-Dosage": 0.09, "B-Medication": 0.036,
                "I-Medication": 0.02},
    }
    pred = decode(text, tagged, probs)
    assert found(pred) == [
        ("metformin", "Medication"), ("500 mg twice daily", "Dosage"),
        ("urine dipstick", "Procedure"),
    ]
    words = [text[a:b] for a, b in pred.word_offsets]
    assert pred.word_tags[words.index("dipstick")] == "I-Procedure"


def test_pieces_on_two_lines_stay_apart() -> None:
    text = "Also known COPD\nasthma improving."
    pred = decode(text, {"COPD": "B-Disease", "asthma": "B-Disease"})
    assert found(pred) == [("COPD", "Disease"), ("asthma", "Disease")]


def test_span_ending_inside_a_hyphenated_word_takes_all_of_it() -> None:
    text = "Please consider a chest X-ray. Also known migraine."
    pred = decode(text, {"chest": "B-Procedure", "X": "I-Procedure", "-": "I-Procedure"})
    assert found(pred) == [("chest X-ray", "Procedure")]
    (span,) = pred.spans
    # "ray" was O for the model: its low I-Procedure probability lowers the confidence.
    assert span.min_probability < 0.01 < span.confidence < 0.99


def test_number_whole_and_full_stop_left_out() -> None:
    text = "Continue bisoprolol 2.5 mg once daily. ECG booked for tomorrow."
    tagged = {"bisoprolol": "B-Medication", "5": "B-Dosage", "mg": "I-Dosage",
              "once": "I-Dosage", "daily": "I-Dosage", ".": "I-Dosage"}
    pred = decode(text, tagged)
    assert found(pred) == [("bisoprolol", "Medication"), ("2.5 mg once daily", "Dosage")]
    words = [text[a:b] for a, b in pred.word_offsets]
    assert pred.word_tags[words.index("daily") + 1] == "O"  # the full stop


def test_lone_punctuation_is_not_an_entity() -> None:
    text = "Plan discussed with the family. — Dr. North"
    pred = decode(text, {"—": "B-Disease", "North": "B-Medication"})
    assert found(pred) == [("North", "Medication")]
