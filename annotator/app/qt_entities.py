"""The entities view: select text, press a label's key; review the model's spans.

When the task declares attributes (negation, temporality...), the attribute bar under the
text shows the entity under the cursor with one button per attribute that applies to its
label; the attribute's key (shown on its button) moves to the next value, one undoable
edit each. A value other than the default marks the span (wavy underline, a badge such as
"Neg" after it) and is named in its tooltip. The model's attribute suggestions are reviewed
like its entities: A / R take the next suggestion of any kind, the bar shows them with
their confidence, and setting the value by hand corrects one.

When the task declares relation types (dosage_of=Dosage>Medication), L on an entity starts a
link from it: move to another entity and press L (or Enter) again; the types the two labels
allow are offered (chosen at once when one fits), Esc cancels. The relation list under the
text shows the document's relations and the model's relation suggestions (A / R there). A / R
in the text take relation suggestions too, at their head (after the entity and attribute
suggestions there: a suggested entity is decided before a relation on it), the list's row
chosen and both ends shown while one is the next; "Accept all ≥" takes them with the rest.

When the task lets entities overlap and nest ("[left lower lobe] pneumonia": a BodySite in a
Condition), selecting words inside an entity and pressing a label's key adds the nested one.
Where several entities cover the cursor, the shortest is the one the keys act on (Delete, a
label key, an attribute's key, L); a click on it again, or Tab / Shift+Tab, picks the next
or previous of them, marked as the current one. The text draws the outermost as a tint and
the others as bars under it (``QtSpanTextEdit.stack_overlaps``)."""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_attribute_bar import QtAttributeBar, attribute_keys, badge_of
from annotator.app.qt_commands import (
    AddEntityCommand,
    DecideSuggestionsCommand,
    DeleteEntityCommand,
    QtProjectContext,
    RelabelEntityCommand,
)
from annotator.app.qt_labels import QtLabelBar
from annotator.app.qt_relation_bar import QtRelationList, RelationRow
from annotator.app.qt_span_commands import (
    AddRelationCommand,
    RemoveRelationCommand,
    ResizeEntityCommand,
    SetEntityAttributesCommand,
)
from annotator.app.qt_span_text import QtSpanTextEdit, SpanStyle
from core.project import RESERVED_KEYS, DocumentView, EntityView, SuggestionView, TaskInfo
from core.types import AttributeSpec, RelationSpec, TaskKind

ACCEPT_KEY = Qt.Key.Key_A
REJECT_KEY = Qt.Key.Key_R
ATTRIBUTE_SUGGESTION = "attribute"  # the kind attribute suggestions are stored under
RELATION_SUGGESTION = "relation"
# Where several suggestions are reviewed at one place, entities first: a relation's or an
# attribute's suggestion on a suggested entity needs it.
REVIEW_ORDER = {"entity": 0, ATTRIBUTE_SUGGESTION: 1, RELATION_SUGGESTION: 2}
LINK_KEY = "l"  # starts and ends a link (a label or attribute given "l" keeps it)


def relation_ends(s: SuggestionView) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (head, tail) spans of a relation suggestion, as its payload names them."""
    ends = s.payload.get("head") or {}, s.payload.get("tail") or {}
    head, tail = ((int(e.get("start", 0)), int(e.get("end", 0))) for e in ends)
    return head, tail


class QtEntitiesView(QWidget):
    """Entity labelling and suggestion review for one document at a time."""

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: TaskInfo | None = None
        self.doc: DocumentView | None = None
        self.attributes: tuple[AttributeSpec, ...] = ()
        self.attribute_keys: dict[str, str] = {}
        self._applicable: dict[str, tuple[AttributeSpec, ...]] = {}  # by label
        # The pending attribute suggestions of the document read last, by entity span.
        self._attribute_pending_of: DocumentView | None = None
        self._attribute_pending: dict[tuple[int, int], dict[str, tuple[int, str, float]]] = {}
        self.relation_types: tuple[RelationSpec, ...] = ()
        self.link_from: EntityView | None = None  # the first end of a link being made
        self._shown_ends: tuple[tuple[int, int], ...] = ()  # a list row's ends, highlighted
        # The relation suggestion A / R take at the cursor, when _shown_ends are its ends
        # (None: they are a row the user chose, or nothing).
        self._shown_suggestion: SuggestionView | None = None
        # The extent of the entity picked among several covering the cursor (a click again,
        # Tab); None: the shortest there. Forgotten when the cursor leaves it.
        self._chosen: tuple[int, int] | None = None

        self.label_bar = QtLabelBar()
        self.label_bar.labelClicked.connect(self.apply_label)
        self.editor = QtSpanTextEdit()
        self.editor.stack_overlaps = True  # nested and overlapping spans: each one visible
        self.editor.key_filter = self._on_key
        self.editor.clicked.connect(self._on_clicked)
        self.editor.cursorMoved.connect(self._on_cursor_moved)
        self.editor.contextRequested.connect(self._on_context_menu)
        self.editor.spanResized.connect(self._on_span_resized)
        ctx.returnTo.connect(self._on_return_to)
        # An undo or redo of the labels dialog's edits: the labels and attributes again.
        ctx.labelsChanged.connect(self._on_labels_changed)
        self.info = QLabel()
        self.info.setObjectName("hintLabel")
        self.info.setWordWrap(True)
        self.attribute_bar = QtAttributeBar()
        self.attribute_bar.cycleRequested.connect(self.cycle_attribute)
        self.attribute_bar.valueChosen.connect(self.set_attribute)
        self.attribute_bar.suggestionDecided.connect(self._decide_suggestion)
        self.attribute_bar.setVisible(False)
        self.relation_list = QtRelationList()
        self.relation_list.rowSelected.connect(self._on_relation_selected)
        self.relation_list.removeRequested.connect(self._remove_relation_row)
        self.relation_list.suggestionDecided.connect(self._decide_suggestion)
        self.relation_list.setVisible(False)

        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.8)
        self.threshold.setToolTip("Confidence threshold for \"Accept all ≥\"")
        self.accept_all = QPushButton("Accept all ≥")
        self.accept_all.setToolTip("Accept every suggestion of this document (entities, "
                                   "attributes, relations) at or above the threshold (Shift+A)")
        self.accept_all.clicked.connect(self.accept_above_threshold)
        self.suggestion_count = QLabel()

        review = QHBoxLayout()
        review.addWidget(self.suggestion_count, 1)
        review.addWidget(self.accept_all)
        review.addWidget(self.threshold)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label_bar)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.attribute_bar)
        layout.addWidget(self.relation_list)
        layout.addLayout(review)
        layout.addWidget(self.info)

    # --- display ---------------------------------------------------------------------------

    def set_task(self, task: TaskInfo | None) -> None:
        self.task = task
        self.label_bar.set_labels(task.labels if task else ())
        self.attributes = task.attributes if task else ()
        taken = {lab.shortcut for lab in task.labels if lab.shortcut} if task else set()
        self.relation_types = task.relations if task else ()
        link = {LINK_KEY} if self.relation_types else set()
        self.attribute_keys = attribute_keys(self.attributes, taken | set(RESERVED_KEYS) | link)
        self._applicable = {}
        self.attribute_bar.setVisible(bool(self.attributes))
        self.relation_list.setVisible(bool(self.relation_types))
        self.link_from = None
        self._redraw()

    def _on_labels_changed(self) -> None:
        self.set_task(self.ctx.project.documents.tasks().get(TaskKind.NER))

    def show_document(self, doc: DocumentView | None, *, keep_cursor: bool = False) -> None:
        same = doc is not None and self.doc is not None and doc.id == self.doc.id
        cursor = self.editor.cursor_code_point() if same and keep_cursor else None
        scroll = self.editor.verticalScrollBar().value()
        self.doc = doc
        if not same:
            self.link_from = None
            self._shown_ends = ()
            self._shown_suggestion = None
            self._chosen = None
        if not same or self.editor.document_text() != (doc.text if doc else ""):
            self.editor.set_document_text(doc.text if doc else "")
        if cursor is not None:
            self.editor.set_cursor_code_point(cursor)
            self.editor.verticalScrollBar().setValue(scroll)
        self._redraw()

    def _color(self, label: str) -> str:
        info = self.task.label(label) if self.task else None
        return info.color if info else "#888888"

    def _redraw(self) -> None:
        if self.doc is None:
            self.editor.set_spans([])
            self.suggestion_count.setText("")
            self._update_relation_list(None)
            return
        cp = self.editor.cursor_code_point()
        self._show_relation_here(cp)
        here = self.entity_at(cp)
        spans = [self._entity_span(e, here) for e in self.doc.entities]
        suggestions = self.doc.suggestions_of("entity")
        text = self.doc.text
        spans += [
            SpanStyle(
                s.start, s.end, self._color(s.label),
                (f"suggested {s.label} by {s.source_text}: {text[s.start:s.end]!r}"
                 if s.by_rule else
                 f"suggested {s.label} ({s.confidence:.0%} confident): {text[s.start:s.end]!r}")
                + self._suggested_attributes_tip(s.start, s.end),
                suggestion=True, current=s.start <= cp < s.end,
            )
            for s in suggestions
        ]
        self.editor.set_spans(spans)
        n = len(suggestions) + sum(len(self.doc.suggestions_of(kind))
                                   for kind in (ATTRIBUTE_SUGGESTION, RELATION_SUGGESTION))
        self.suggestion_count.setText(
            f"{n} suggestion{'s' if n != 1 else ''} to review" if n else "No pending suggestions"
        )
        self.accept_all.setEnabled(bool(n))
        self._update_info(cp)

    def applicable(self, label: str) -> tuple[AttributeSpec, ...]:
        """The declared attributes that apply to entities of ``label``, in order."""
        specs = self._applicable.get(label)
        if specs is None:
            specs = self._applicable[label] = tuple(
                spec for spec in self.attributes if spec.applies_to(label)
            )
        return specs

    def _entity_span(self, e: EntityView, here: EntityView | None) -> SpanStyle:
        """How ``e`` is drawn; ``here``: the entity the keys act on (current)."""
        assert self.doc is not None
        tip = f"{e.label}: {self.doc.text[e.start:e.end]!r}" + (
            "" if e.origin == "human" else f" ({e.origin})"
        ) + self._relations_tip(e)
        current = (here is not None and here.id == e.id) or (
            (e.start, e.end) in self._shown_ends) or (
            self.link_from is not None and self.link_from.id == e.id)
        specs = self.applicable(e.label)
        if not specs:
            return SpanStyle(e.start, e.end, self._color(e.label), tip,
                             current=current, editable=True)
        values = {spec.name: e.attributes.get(spec.name, spec.default) for spec in specs}
        set_ = [spec for spec in specs if values[spec.name] != spec.default]
        tip += "".join(f"\n{spec.name}: {values[spec.name]}" for spec in specs)
        tip += self._suggested_attributes_tip(e.start, e.end)
        return SpanStyle(
            e.start, e.end, self._color(e.label), tip, current=current,
            editable=True, marked=bool(set_),
            badge=" ".join(badge_of(values[spec.name]) for spec in set_),
        )

    def _span_text(self, span: tuple[int, int]) -> str:
        assert self.doc is not None
        text = " ".join(self.doc.text[span[0]:span[1]].split())
        return text if len(text) <= 30 else text[:29] + "…"

    def _relations_tip(self, e: EntityView) -> str:
        """The entity's relations, one line each ("dosage_of → furosemide")."""
        assert self.doc is not None
        lines = [f"\n{r.label} → {self._span_text(r.tail)}"
                 for r in self.doc.relations if r.head_id == e.id]
        lines += [f"\n{self._span_text(r.head)} → {r.label}"
                  for r in self.doc.relations if r.tail_id == e.id]
        return "".join(lines)

    def _suggested_attributes_tip(self, start: int, end: int) -> str:
        return "".join(
            f"\nsuggested {name}: {value} ({confidence:.0%} confident)"
            for name, (_sid, value, confidence) in self._pending_attributes(start, end).items()
        )

    def attribute_suggestions(self, entity: EntityView) -> dict[str, tuple[int, str, float]]:
        """The pending attribute suggestions of ``entity``: name -> (id, value, confidence)."""
        return self._pending_attributes(entity.start, entity.end)

    def _pending_attributes(self, start: int, end: int) -> dict[str, tuple[int, str, float]]:
        """The pending attribute suggestions for the span ``[start, end)`` (an entity's or
        a suggested entity's)."""
        if self._attribute_pending_of is not self.doc:  # once per document read
            self._attribute_pending_of = self.doc
            self._attribute_pending = {}
            for s in self.doc.suggestions_of(ATTRIBUTE_SUGGESTION) if self.doc else ():
                self._attribute_pending.setdefault((s.start, s.end), {})[
                    str(s.payload.get("attribute"))
                ] = (s.id, str(s.payload.get("value")), s.confidence)
        return self._attribute_pending.get((start, end), {})

    # --- what is under the cursor ----------------------------------------------------------

    def entities_at(self, cp: int) -> list[EntityView]:
        """The entities containing code point ``cp`` (else those ending right at it), the
        shortest first."""
        if self.doc is None:
            return []
        here = [e for e in self.doc.entities if e.start <= cp < e.end] or [
            e for e in self.doc.entities if e.end == cp and e.start < cp]
        if self._chosen is not None and self._chosen[1] == cp:  # made, the cursor at its end
            here += [e for e in self.doc.entities
                     if (e.start, e.end) == self._chosen and e not in here]
        return sorted(here, key=lambda e: (e.end - e.start, e.start))

    def entity_at(self, cp: int) -> EntityView | None:
        """The entity the keys act on at ``cp``: the one picked there (a click again, Tab),
        else the shortest of those there."""
        here = self.entities_at(cp)
        if self._chosen is not None:
            chosen = next((e for e in here if (e.start, e.end) == self._chosen), None)
            if chosen is not None:
                return chosen
        return here[0] if here else None

    def cycle_entity(self, step: int = 1) -> bool:
        """Make the next (``step`` 1: the next longer) or previous of the entities at the
        cursor the one the keys act on; False when fewer than two are there."""
        cp = self.editor.cursor_code_point()
        here = self.entities_at(cp)
        if len(here) < 2:
            return False
        current = self.entity_at(cp)
        index = here.index(current) if current in here else 0
        chosen = here[(index + step) % len(here)]
        self._chosen = (chosen.start, chosen.end)
        self.ctx.message.emit(
            f"{chosen.label} “{self._span_text((chosen.start, chosen.end))}” "
            f"({here.index(chosen) + 1} of {len(here)} here; Tab or a click again: the next)")
        self._redraw()
        return True

    def pick_entity(self, entity: EntityView) -> None:
        """Make ``entity`` (one at the cursor) the one the keys act on."""
        self._chosen = (entity.start, entity.end)
        self._redraw()

    def _on_clicked(self, cp: int) -> None:
        """A click: on the entity already picked, the next of those there; else the
        shortest there is the one picked."""
        here = self.entities_at(cp)
        if len(here) < 2:
            return
        if self._chosen is not None and any((e.start, e.end) == self._chosen for e in here):
            self.cycle_entity(1)
        else:
            self._chosen = (here[0].start, here[0].end)
            self._redraw()

    def suggestion_at(self, cp: int) -> SuggestionView | None:
        if self.doc is None:
            return None
        return next((s for s in self.doc.suggestions_of("entity") if s.start <= cp < s.end), None)

    def review_span(self, s: SuggestionView,
                    suggested: set[tuple[int, int]] | None = None) -> tuple[int, int]:
        """Where A / R take the suggestion ``s``: an entity's or an attribute's, its span; a
        relation's, its head's, or its tail's when the tail is a suggested entity further on
        (accepting the relation needs both ends). ``suggested``: the spans of the pending
        entity suggestions, when the caller has them."""
        if s.kind != RELATION_SUGGESTION:
            return s.start, s.end
        head, tail = relation_ends(s)
        if suggested is None:
            suggested = self._suggested_spans()
        return max([head] + [end for end in (head, tail) if end in suggested])

    def _suggested_spans(self) -> set[tuple[int, int]]:
        return {(e.start, e.end) for e in self.doc.suggestions_of("entity")} if (
            self.doc is not None) else set()

    def next_suggestion(self, cp: int) -> SuggestionView | None:
        """The suggestion under the cursor (an entity's, else one of the attributes of the
        entity there, else a relation of it: see :meth:`review_span`), else the next one
        after it, else the first. At one place the entity's comes first, then its
        attributes', then its relations'."""
        if self.doc is None:
            return None
        suggested = self._suggested_spans()
        pending = sorted(
            ((self.review_span(s, suggested), s) for kind in REVIEW_ORDER
             for s in self.doc.suggestions_of(kind)),
            key=lambda p: (p[0][0], REVIEW_ORDER[p[1].kind], p[1].id),
        )
        here = self.suggestion_at(cp) or next(
            (s for kind in (ATTRIBUTE_SUGGESTION, RELATION_SUGGESTION)
             for (start, end), s in pending if s.kind == kind and start <= cp < end),
            None,
        )
        return (
            here
            or next((s for (start, _end), s in pending if start >= cp), None)
            or (pending[0][1] if pending else None)
        )

    def _show_relation_here(self, cp: int) -> None:
        """When A / R at ``cp`` take a relation suggestion, show both its ends (and make its
        row the list's current one), as choosing the row does; a row the user chose stays."""
        s = self.next_suggestion(cp)
        if s is not None and s.kind == RELATION_SUGGESTION:
            span = self.review_span(s)
            if span[0] <= cp < span[1]:
                if self._shown_ends and self._shown_suggestion is None:
                    return  # the user's row
                head, tail = relation_ends(s)
                self._shown_ends = (span, tail if span == head else head)
                self._shown_suggestion = s
                return
        if self._shown_suggestion is not None:
            self._shown_ends, self._shown_suggestion = (), None

    def _on_cursor_moved(self, cp: int) -> None:
        if self._chosen is not None and not self._chosen[0] <= cp <= self._chosen[1]:
            self._chosen = None  # the cursor left the entity picked
        if self._shown_ends and not self._shown_ends[0][0] <= cp <= self._shown_ends[0][1]:
            self._shown_ends = ()  # the cursor left the row's head: the row's look goes
            self._shown_suggestion = None
        self._redraw()

    def _on_return_to(self, doc_id: int, cp: int) -> None:
        """An edit of this note undone or redone (an attribute's): back to its entity."""
        if self.doc is not None and doc_id == self.doc.id and self.entity_at(
            self.editor.cursor_code_point()
        ) is not self.entity_at(cp):
            self.editor.set_cursor_code_point(cp)

    def _update_attribute_bar(self, entity: EntityView | None) -> None:
        if not self.attributes:
            return
        if entity is None or self.doc is None:  # the bar stays, so the text does not jump
            self.attribute_bar.show_entity(self.attributes, self.attribute_keys, None)
            return
        specs = self.applicable(entity.label)
        values = {spec.name: entity.attributes.get(spec.name, spec.default) for spec in specs}
        what = f"{entity.label} “{self.doc.text[entity.start:entity.end][:40]}”"
        self.attribute_bar.show_entity(
            specs, self.attribute_keys, values, self.attribute_suggestions(entity), what=what
        )

    def _update_info(self, cp: int) -> None:
        if self.doc is None:
            self.info.setText("")
            self._update_attribute_bar(None)
            return
        entity = self.entity_at(cp)
        suggestion = self.suggestion_at(cp)
        self._update_attribute_bar(entity)
        self._update_relation_list(entity)
        if self.link_from is not None:
            self.info.setText(
                f"Linking from <b>{self.link_from.label}</b> "
                f"“{html.escape(self._span_text((self.link_from.start, self.link_from.end)))}”"
                " — move the cursor to the other entity and press L or Enter · Esc cancels"
            )
        elif entity is not None:
            keys = [self.attribute_keys[s.name].upper() for s in self.applicable(entity.label)
                    if s.name in self.attribute_keys]
            self.info.setText(
                f"<b>{entity.label}</b> “{self.doc.text[entity.start:entity.end]}” — press a "
                "label key to change it, Delete to remove it, drag an edge or press Alt+←/→ "
                "(moves the edge nearer the cursor) to resize it, or right-click"
                + (f"; {' / '.join(keys)} change its attributes" if keys else "")
                + ("; L links it" if self.relation_types else "")
                + self._others_here_hint(cp, entity)
            )
        elif suggestion is not None:
            by = (f"by {html.escape(suggestion.source_text)}" if suggestion.by_rule
                  else f"{suggestion.confidence:.0%}")
            self.info.setText(
                f"Suggested <b>{suggestion.label}</b> ({by}) — "
                "A accept · R reject · a label key accepts it as that label"
            )
        else:
            self.info.setText(
                "Select words and press a label's key. A / R accept or reject the next "
                "suggestion · Shift+A accepts all above the threshold · J / K next / previous"
            )
        shown = self._shown_suggestion
        if shown is not None and self.link_from is None:
            head, tail = relation_ends(shown)
            self.info.setText(
                self.info.text() + f" · suggested relation “{html.escape(self._span_text(head))}"
                f" → {html.escape(shown.label)} → {html.escape(self._span_text(tail))}” "
                f"({shown.confidence:.0%}): A accept · R reject")

    def _others_here_hint(self, cp: int, entity: EntityView) -> str:
        here = self.entities_at(cp)
        if len(here) < 2:
            return ""
        others = ", ".join(html.escape(e.label) for e in here if e.id != entity.id)
        return (f" · {here.index(entity) + 1} of {len(here)} entities here (also {others}):"
                " Tab / Shift+Tab or a click again picks another")

    # --- actions ---------------------------------------------------------------------------

    def apply_label(self, label: str) -> None:
        """Label the selection, or relabel the entity / accept the suggestion at the cursor."""
        if self.doc is None:
            return
        start, end = self.editor.selection_code_points()
        if end > start:
            start, end = self.editor.snapped_selection()
            if end <= start:
                self.ctx.message.emit("select some words first")
                return
            if self.ctx.push(AddEntityCommand(self.ctx, self.doc.id, start, end, label)):
                self._chosen = (start, end)  # a nested one: the new one is the current one
            elif self.task is not None and not self.task.overlapping and any(
                    e.start < end and start < e.end for e in self.doc.entities):
                self.ctx.message.emit(
                    f"“{self._span_text((start, end))}” overlaps an entity, and this project "
                    "keeps entities apart: Edit › Labels… › “Entities may overlap or nest” "
                    "lets them nest")
            self.editor.set_cursor_code_point(end)
            self._redraw()
            return
        cp = self.editor.cursor_code_point()
        entity = self.entity_at(cp)
        if entity is not None:
            if entity.label != label:
                self.ctx.push(
                    RelabelEntityCommand(
                        self.ctx, self.doc.id, entity.start, entity.end, entity.label, label
                    )
                )
            return
        suggestion = self.suggestion_at(cp)
        if suggestion is not None:
            self.ctx.push(
                DecideSuggestionsCommand(
                    self.ctx, self.doc.id, [suggestion.id], accept=True, label=label
                )
            )
            return
        self.ctx.message.emit("select some words first, then press a label's key")

    def _on_span_resized(self, start: int, end: int, new_start: int, new_end: int) -> None:
        entity = next(
            (e for e in self.doc.entities if (e.start, e.end) == (start, end)), None
        ) if self.doc is not None else None
        if entity is not None and self.doc is not None:
            self.ctx.push(ResizeEntityCommand(
                self.ctx, self.doc.id, (start, end), (new_start, new_end), entity.label
            ))

    def cycle_attribute(self, name: str, step: int = 1) -> None:
        """Give the entity under the cursor the next (``step`` 1) or previous (-1) value of
        the attribute ``name``."""
        entity = self._attribute_target(name)
        if entity is None:
            return
        spec = next(s for s in self.attributes if s.name == name)
        current = entity.attributes.get(name, spec.default)
        index = spec.values.index(current) if current in spec.values else 0
        self.set_attribute(name, spec.values[(index + step) % len(spec.values)])

    def set_attribute(self, name: str, value: str) -> None:
        """Give the entity under the cursor ``value`` for the attribute ``name``: one undoable
        edit, written at once. With a pending suggestion for it, that suggestion is decided
        with the value: accepted when it suggested that value, else corrected to it."""
        entity = self._attribute_target(name)
        if entity is None or self.doc is None:
            return
        pending = self.attribute_suggestions(entity).get(name)
        if pending is not None:
            sid, suggested, _confidence = pending
            self.ctx.push(DecideSuggestionsCommand(
                self.ctx, self.doc.id, [sid], accept=True,
                label=None if value == suggested else value,
            ))
            return
        if entity.attributes.get(name) == value:
            return
        self.ctx.push(SetEntityAttributesCommand(
            self.ctx, self.doc.id, (entity.start, entity.end), {name: value}, entity.label
        ))

    def _attribute_target(self, name: str) -> EntityView | None:
        """The entity under the cursor if ``name`` applies to it, else None (and why)."""
        if self.doc is None:
            return None
        entity = self.entity_at(self.editor.cursor_code_point())
        if entity is None:
            self.ctx.message.emit(f"put the cursor on an entity to set its {name}")
            return None
        if not any(s.name == name for s in self.applicable(entity.label)):
            self.ctx.message.emit(f"the attribute {name} does not apply to {entity.label}")
            return None
        return entity

    # --- relations -----------------------------------------------------------------------

    def _update_relation_list(self, entity: EntityView | None) -> None:
        if not self.relation_types:
            return
        if self.doc is None:
            self.relation_list.show_rows(())
            return
        rows = [
            RelationRow(r.head, r.tail, r.label,
                        f"{self._span_text(r.head)} → {r.label} → {self._span_text(r.tail)}",
                        touching=entity is not None and entity.id in (r.head_id, r.tail_id))
            for r in self.doc.relations
        ]
        for s in self.doc.suggestions_of(RELATION_SUGGESTION):
            head, tail = relation_ends(s)
            rows.append(RelationRow(
                head, tail, s.label,
                f"{self._span_text(head)} → {s.label} → {self._span_text(tail)}",
                suggestion_id=s.id, confidence=s.confidence,
                touching=entity is not None and (entity.start, entity.end) in (head, tail)))
        self.relation_list.show_rows(
            rows, hint="" if rows else "L on an entity, L on another")
        if self._shown_suggestion is not None:  # the one A / R take here
            self.relation_list.select_suggestion(self._shown_suggestion.id)

    def relation_candidates(
        self, head: EntityView, tail: EntityView
    ) -> list[tuple[RelationSpec, EntityView, EntityView]]:
        """The (type, head, tail) links the two entities' labels allow, in the order they
        were picked first, then reversed (a Medication linked to a Dosage by dosage_of)."""
        found = [(spec, head, tail) for spec in self.relation_types
                 if spec.allows(head.label, tail.label)]
        found += [(spec, tail, head) for spec in self.relation_types
                  if spec.allows(tail.label, head.label)]
        return found

    def link_key_pressed(self) -> None:
        """L: start a link from the entity under the cursor, or end it on this one."""
        if self.doc is None:
            return
        if not self.relation_types:
            self.ctx.message.emit("no relation type is declared: add one in the labels dialog"
                                  " or with annotator init --relation")
            return
        entity = self.entity_at(self.editor.cursor_code_point())
        if self.link_from is None:
            if entity is None:
                self.ctx.message.emit("put the cursor on an entity, then press L to link it")
                return
            self.start_link(entity)
            return
        if entity is None:
            self.ctx.message.emit("move the cursor to the entity to link to, then press L"
                                  " (Esc cancels)")
            return
        if entity.id == self.link_from.id:
            self.ctx.message.emit("an entity cannot be linked to itself: move to another one"
                                  " (Esc cancels)")
            return
        self.finish_link(self.link_from, entity)

    def start_link(self, entity: EntityView) -> None:
        self.link_from = entity
        self.ctx.message.emit(f"linking from {entity.label} "
                              f"“{self._span_text((entity.start, entity.end))}”: move to "
                              "another entity and press L or Enter (Esc cancels)")
        self._redraw()

    def cancel_link(self) -> None:
        if self.link_from is not None:
            self.link_from = None
            self.ctx.message.emit("link cancelled")
            self._redraw()

    def finish_link(self, head: EntityView, tail: EntityView) -> None:
        """Link ``head`` to ``tail`` by a type their labels allow (asked when several do)."""
        if self.doc is None:
            return
        candidates = self.relation_candidates(head, tail)
        if not candidates:
            declared = ", ".join(str(s) for s in self.relation_types)
            self.ctx.message.emit(
                f"no relation type links {head.label} and {tail.label} ({declared}): "
                "pick another entity, or Esc")
            return
        choice = candidates[0] if len(candidates) == 1 else self.choose_relation(candidates)
        if choice is None:
            return  # the menu closed: the link stays open
        self._link_now(*choice)

    def choose_relation(
        self, candidates: list[tuple[RelationSpec, EntityView, EntityView]]
    ) -> tuple[RelationSpec, EntityView, EntityView] | None:
        """A menu of the candidate links at the cursor (1, 2... pick one); None if closed."""
        menu = QMenu(self)
        actions = {}
        for i, cand in enumerate(candidates):
            spec, h, t = cand
            text = (f"{spec.name}: {self._span_text((h.start, h.end))} → "
                    f"{self._span_text((t.start, t.end))}")
            act = menu.addAction(f"&{i + 1} {text}" if i < 9 else text)
            actions[act] = cand
        rect = self.editor.cursorRect()
        chosen = menu.exec(self.editor.viewport().mapToGlobal(rect.bottomLeft()))
        return actions.get(chosen) if chosen is not None else None

    def _on_relation_selected(self, row: RelationRow) -> None:
        """A row of the list chosen: the cursor to its head, both ends highlighted."""
        self._shown_ends = (row.head, row.tail)
        self._shown_suggestion = None
        if not row.head[0] <= self.editor.cursor_code_point() < row.head[1]:
            self.editor.set_cursor_code_point(row.head[0])  # redraws
        else:
            self._redraw()

    def _remove_relation_row(self, row: RelationRow) -> None:
        if self.doc is not None:
            self.ctx.push(RemoveRelationCommand(self.ctx, self.doc.id, row.head, row.tail,
                                                row.label))

    def remove_relation(self, head: tuple[int, int], tail: tuple[int, int], label: str) -> None:
        """Remove one relation of the document shown (undoable)."""
        self._remove_relation_row(RelationRow(head, tail, label, ""))

    def _decide_suggestion(self, suggestion_id: int, accept: bool) -> None:
        if self.doc is not None:
            self.ctx.push(
                DecideSuggestionsCommand(self.ctx, self.doc.id, [suggestion_id], accept=accept)
            )

    def delete_at_cursor(self) -> None:
        if self.doc is None:
            return
        entity = self.entity_at(self.editor.cursor_code_point())
        if entity is None:
            self.ctx.message.emit("no entity under the cursor")
            return
        self.ctx.push(
            DeleteEntityCommand(
                self.ctx, self.doc.id, entity.id, entity.start, entity.end, entity.label
            )
        )

    def decide_next(self, accept: bool) -> None:
        if self.doc is None:
            return
        suggestion = self.next_suggestion(self.editor.cursor_code_point())
        if suggestion is None:
            self.ctx.message.emit("no suggestion to review in this document")
            return
        start, end = self.review_span(suggestion)
        if not start <= self.editor.cursor_code_point() < end:
            self.editor.set_cursor_code_point(start)  # a relation's: its row and ends shown
        self.ctx.push(
            DecideSuggestionsCommand(self.ctx, self.doc.id, [suggestion.id], accept=accept)
        )

    def accept_above_threshold(self) -> None:
        """Accept the document's suggestions of every kind at or above the threshold, in one
        undoable step (the core takes the entities first, so a relation or an attribute value
        on a suggested entity accepted with it goes in too; one whose entity stays a
        suggestion is skipped, saying so)."""
        if self.doc is None:
            return
        ids = [
            s.id
            for kind in REVIEW_ORDER for s in self.doc.suggestions_of(kind)
            if s.confidence >= self.threshold.value()
        ]
        if not ids:
            self.ctx.message.emit(f"no suggestion at or above {self.threshold.value():.2f}")
            return
        self.ctx.push(DecideSuggestionsCommand(self.ctx, self.doc.id, ids, accept=True))

    def _on_key(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                   | Qt.KeyboardModifier.MetaModifier):
            return False
        key = event.key()
        if self.link_from is not None and key == Qt.Key.Key_Escape:
            self.cancel_link()
            return True
        if self.link_from is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.link_key_pressed()
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_at_cursor()
            return True
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):  # else the focus moves on, as before
            return self.cycle_entity(-1 if key == Qt.Key.Key_Backtab else 1)
        if key == ACCEPT_KEY and mods & Qt.KeyboardModifier.ShiftModifier:
            self.accept_above_threshold()
            return True
        if key == ACCEPT_KEY:
            self.decide_next(True)
            return True
        if key == REJECT_KEY:
            self.decide_next(False)
            return True
        label = self.label_bar.label_for_key(event.text())
        if label is not None:
            self.apply_label(label)
            return True
        name = self.attribute_for_key(event.text())
        if name is not None:
            self.cycle_attribute(name, -1 if mods & Qt.KeyboardModifier.ShiftModifier else 1)
            return True
        if self.relation_types and event.text().lower() == LINK_KEY:
            self.link_key_pressed()
            return True
        return False

    def attribute_for_key(self, text: str) -> str | None:
        if not text:
            return None
        return next((n for n, k in self.attribute_keys.items() if k == text.lower()), None)

    def _on_context_menu(self, cp: int, global_pos: QPoint) -> None:
        if self.doc is None or self.task is None:
            return
        menu = QMenu(self)
        entity = self.entity_at(cp)
        suggestion = self.suggestion_at(cp)
        start, end = self.editor.selection_code_points()
        if entity is not None:
            self.editor.set_cursor_code_point(cp)
            others = [e for e in self.entities_at(cp) if e.id != entity.id]
            if others:  # nested or overlapping ones: the menu acts on the one picked
                menu.addSection(f"{entity.label} “{self._span_text((entity.start, entity.end))}”")
                pick = menu.addMenu("Pick another entity here\tTab")
                for other in others:
                    pick.addAction(
                        f"{other.label} “{self._span_text((other.start, other.end))}”",
                        lambda o=other: self.pick_entity(o))
            sub = menu.addMenu("Change label")
            for lab in self.task.labels:
                act = sub.addAction(lab.name)
                act.setEnabled(lab.name != entity.label)
                act.triggered.connect(lambda _=False, n=lab.name: self.apply_label(n))
            for spec in self.applicable(entity.label):
                key = self.attribute_keys.get(spec.name)
                value = entity.attributes.get(spec.name, spec.default)
                sub = menu.addMenu(f"{spec.name}: {value}" + (f"\t{key.upper()}" if key else ""))
                for v in spec.values:
                    act = sub.addAction(v)
                    act.setCheckable(True)
                    act.setChecked(v == value)
                    act.triggered.connect(lambda _=False, n=spec.name, v=v: self.set_attribute(n, v))
            if self.relation_types:
                self._relation_actions(menu, entity)
            menu.addAction("Delete entity\tDel", self.delete_at_cursor)
        elif suggestion is not None:
            self.editor.set_cursor_code_point(cp)
            menu.addAction(f"Accept {suggestion.label}\tA", lambda: self.decide_next(True))
            menu.addAction("Reject\tR", lambda: self.decide_next(False))
            sub = menu.addMenu("Accept as")
            for lab in self.task.labels:
                sub.addAction(lab.name).triggered.connect(
                    lambda _=False, n=lab.name: self.apply_label(n)
                )
        elif end > start:
            sub = menu.addMenu("Label selection as")
            for lab in self.task.labels:
                sub.addAction(lab.name).triggered.connect(
                    lambda _=False, n=lab.name: self.apply_label(n)
                )
        menu.addSeparator()
        menu.addAction("Copy", self.editor.copy)
        menu.exec(global_pos)

    def _relation_actions(self, menu: QMenu, entity: EntityView) -> None:
        """The context menu's "Link to…" (the entities its label can be linked to) and
        "Remove relation" (its relations)."""
        assert self.doc is not None
        if self.link_from is not None and self.link_from.id != entity.id:
            head = self.link_from
            menu.addAction(f"Link from “{self._span_text((head.start, head.end))}” here\tL",
                           lambda: self.finish_link(head, entity))
        sub = menu.addMenu("Link to…")
        have = {(r.head, r.tail, r.label) for r in self.doc.relations}
        for other in self.doc.entities:
            if other.id == entity.id:
                continue
            for spec, h, t in self.relation_candidates(entity, other):
                if ((h.start, h.end), (t.start, t.end), spec.name) in have:
                    continue
                sub.addAction(
                    f"{spec.name}: {self._span_text((h.start, h.end))} → "
                    f"{self._span_text((t.start, t.end))}",
                    lambda s=spec, h=h, t=t: self._link_now(s, h, t))
        sub.addSeparator()
        sub.addAction("Pick the other end with the cursor…\tL",
                      lambda: self.start_link(entity))
        mine = [r for r in self.doc.relations if entity.id in (r.head_id, r.tail_id)]
        if mine:
            rem = menu.addMenu("Remove relation")
            for r in mine:
                rem.addAction(
                    f"{self._span_text(r.head)} → {r.label} → {self._span_text(r.tail)}",
                    lambda r=r: self.remove_relation(r.head, r.tail, r.label))

    def _link_now(self, spec: RelationSpec, head: EntityView, tail: EntityView) -> None:
        if self.doc is None:
            return
        self.link_from = None
        if self.ctx.push(AddRelationCommand(
                self.ctx, self.doc.id, (head.start, head.end), (tail.start, tail.end),
                spec.name)):
            self.ctx.message.emit(
                f"linked: {self._span_text((head.start, head.end))} → {spec.name} → "
                f"{self._span_text((tail.start, tail.end))} (Ctrl+Z undoes)")
        self._redraw()
