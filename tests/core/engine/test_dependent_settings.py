"""The heads trained along with the entities (one click) train with their own kind's
recipe from the tagger's preset, except where the user changed a setting."""

from __future__ import annotations

import pytest

from core.engine.project_bridge import dependent_settings
from core.engine.settings import TrainingSettings, preset_settings
from core.types import TaskKind

RECIPE = ("learning_rate", "epochs", "patience", "min_steps", "refit", "batch_size",
          "warmup_ratio", "weight_decay")


@pytest.mark.parametrize("kind", [TaskKind.ATTRIBUTE, TaskKind.RELATION])
def test_the_default_presets_heads_take_their_own_recipe(kind: TaskKind) -> None:
    tagger = preset_settings("default", "ner", base_model="/models/enc", seed=7)
    head = dependent_settings(tagger, kind)
    own = preset_settings("default", kind)
    assert {f: getattr(head, f) for f in RECIPE} == {f: getattr(own, f) for f in RECIPE}
    assert (head.base_model, head.seed, head.device) == ("/models/enc", 7, tagger.device)
    assert head.max_length == 128 and head.stride == 32


def test_the_attribute_head_refits_and_trains_ten_epochs_unlike_the_tagger() -> None:
    tagger = preset_settings("default", "ner")
    head = dependent_settings(tagger, TaskKind.ATTRIBUTE)
    assert (tagger.refit, tagger.epochs) == (False, 8)  # what the head would have had
    assert (head.refit, head.epochs) == (True, 10)


def test_what_the_user_set_carries_over_to_the_heads() -> None:
    tagger = preset_settings("default", "ner", learning_rate=3e-5, epochs=2, refit=False)
    head = dependent_settings(tagger, TaskKind.ATTRIBUTE)
    assert (head.learning_rate, head.epochs, head.min_steps) == (3e-5, 2, 0)
    # refit=False was asked for, though it is the entity preset's own value: it carries.
    assert head.refit is False
    assert dependent_settings(tagger.replace(refit=True), TaskKind.ATTRIBUTE).refit is True
    assert dependent_settings(preset_settings("default", "ner", patience=9),
                              TaskKind.ATTRIBUTE).patience == 9
    # Changed without saying so (a plain dataclass copy): the changed value carries too.
    import dataclasses

    copied = dataclasses.replace(preset_settings("default", "ner"), epochs=3)
    assert dependent_settings(copied, TaskKind.ATTRIBUTE).epochs == 3


def test_the_plain_preset_stays_plain_and_settings_of_no_preset_stay_as_given() -> None:
    plain = dependent_settings(preset_settings("seed-002", "ner"), TaskKind.ATTRIBUTE)
    assert (plain.learning_rate, plain.epochs, plain.refit) == (2e-5, 3, False)
    given = TrainingSettings(learning_rate=4e-4, epochs=5)
    assert given.preset is None
    head = dependent_settings(given, TaskKind.ATTRIBUTE)
    assert (head.learning_rate, head.epochs, head.refit) == (4e-4, 5, False)


def test_the_preset_and_the_fields_set_survive_a_round_trip_through_json() -> None:
    import json

    s = preset_settings("default", "ner", learning_rate=3e-5).replace(refit=True)
    back = TrainingSettings.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and back.explicit == ("learning_rate", "refit")
    assert back.replace(epochs=2).explicit == ("learning_rate", "refit", "epochs", "min_steps")
