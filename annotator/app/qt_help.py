"""Help: the keyboard-shortcut sheet (F1 or ?) and a short page on how to work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

# Keys handled inside the views (not menu actions), by view.
VIEW_KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Entities", (
        ("drag or Shift+arrows", "select words (snapped to whole words; full stop: keys only)"),
        ("1 … 9 (a label's key)", ("label the selection (inside an entity, when the project "
                                    "lets entities overlap or nest: a nested one)")),
        ("Tab / Shift+Tab, or a click again",
         ("where entities nest or overlap: the next / previous of those under the cursor "
          "becomes the current one, which Delete, a label key, an attribute's key and L act "
          "on (the shortest comes first)")),
        ("drag an entity's edge", "make the entity longer or shorter, by whole words"),
        ("Alt+← / Alt+→", "move the entity's edge nearer the cursor by one word"),
        ("Delete / Backspace", "remove the entity under the cursor"),
        ("A / R", ("accept / reject the next suggestion: an entity's, an attribute's or a "
                   "relation's (a relation's at its head, after the entity's there; its row "
                   "in the relation list chosen, both ends shown)")),
        ("Shift+A", ("accept all suggestions at or above the threshold, relations too (one "
                     "on a suggested entity accepted with it)")),
        ("an attribute's key (N, T…: shown in the attribute bar)",
         ("the next value of that attribute (negation, temporality…) of the entity under "
          "the cursor; Shift with it: the previous value; a click on the bar's button works "
          "too")),
        ("L (with relation types declared)",
         ("link the entity under the cursor: move to another entity and press L or Enter; "
          "the type the two labels allow is chosen (a menu when several do); Esc cancels")),
        ("Delete / A / R in the relation list",
         "remove the relation chosen / accept or reject the suggested one"),
    )),
    ("Classes", (
        ("1 … 9 (a class's key)", "choose the class (tick or untick when several are allowed)"),
        ("A / R", "accept / reject the model's suggestion"),
    )),
    ("Sentences", (
        ("1 … 9 (a class's key)", ("give the current sentence that class and go to the next "
                                   "one (several allowed: tick or untick it, and stay)")),
        ("↓ / ↑ or a click", "next / previous sentence (Enter: next)"),
        ("A / R", "accept / reject the sentence's suggestion, then go to the next one"),
        ("Shift+A", "accept all of the note's suggestions at or above the threshold"),
        ("Delete / Backspace", "clear the sentence's class"),
        ("Ctrl+B", "split the sentence at the caret (click where the new one starts)"),
        ("Ctrl+M", "merge the sentence with the next one"),
    )),
    ("Answers", (
        ("Enter", "use the selected words as the answer of the selected question"),
        ("U", "the passage does not answer the question"),
        ("A / R", "accept / reject the suggested answer"),
    )),
)

HOW_TO_HTML = """
<h3>How to work</h3>
<ol>
<li><b>Label.</b> Pick a document in the list on the left (J / K: next / previous). In
<i>Entities</i>, select words with the mouse and press a label's key (1, 2, …; when the
task has attributes, such as negation, put the cursor on an entity and press the
attribute's key shown in the bar under the text: each press gives the next value, and a
value other than the default is marked on the span; when the project lets entities overlap
or nest (Edit › Labels…, or a new project: “Entities may overlap or nest”), select words
inside an entity to label a nested one: the outer entity is tinted and each one inside it underlined with a bar in its colour,
and where several cover the cursor Tab or a click again picks which one the keys act on);
in <i>Classes</i>, press the class's
key; in <i>Sentences</i>, the note's sentences are listed
under it and the current one is framed: press a class's key to give it that class and go on
to the next (↑ / ↓ move; Ctrl+B splits a sentence at the caret, Ctrl+M merges it with the
next, when the tool cut the note in the wrong place); in <i>Answers</i>, type a question,
select its answer in the passage and press Enter. Every edit is saved at once; Ctrl+Z undoes
it.</li>
<li><b>Train.</b> The training panel on the right says how many labelled documents
<i>Train …</i> would learn from (or what is missing); after a few dozen, press it.
<i>Settings…</i> shows what the run will do and warns when there is too little data. The
curves show the loss and the F1 on held-out documents (labelled documents kept out of
training to measure the model: those marked dev, else about one in seven, none when fewer
than five are labelled). You can keep labelling while it trains.</li>
<li><b>Review.</b> After training, the model pre-annotates: it suggests labels for the
documents nobody has reviewed yet (not the test ones): entities also in documents labelled
in part, a class where none is given, a class for each sentence of a note none of whose
sentences has one yet (shown with its probability in the sentence list), answers to open
questions. Tick <i>Most uncertain
first</i> above the list: the documents that still need labels for the tab shown come
first (for answers: a question without an answer), the one the model is least sure about
at the top, then those not predicted yet; documents already labelled, reviewed or skipped
follow. The <i>uncertainty</i> column is that score, from the last pre-annotation: 0 when
the model is sure, up to 1 when it is guessing (the entropy of its probabilities, as a share
of the most there can be), averaged over the document's three most uncertain words
(entities), sentences (sentence classes) or open questions (answers); for classes, of the choice (with several classes
allowed, of the three it is least sure of). Press A to accept a suggestion, R to reject it, or correct it by hand
(in <i>Entities</i> A and R take relation suggestions too, and in <i>Entities</i> and
<i>Sentences</i>, Shift+A accepts all of a document's suggestions, relations included, at or
above the threshold beside <i>Accept all ≥</i>);
Ctrl+Enter marks a document reviewed and goes to the next. Train again now and then: each
round the suggestions, and the order, get better.</li>
<li><b>Export.</b> File › Export… writes the documents with their labels (JSON lines by
default).</li>
</ol>
<p><b>As a team.</b> Your labels are stored under your name (Edit › Annotator name…).
Team › Assign documents… gives the documents to the annotators, a share of them to two: each
of the two labels a layer of their own, listed as “(your layer)” in the document's place, and
marks it reviewed when done. Team › Agreement… compares the layers; Team › Adjudicate… shows
a document's disputed items, one choice per annotator, and writes the gold labels (the
agreed items go in as they are; Undo takes the gold back).</p>
"""


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what) for each action with a shortcut, in the order given."""
    rows = []
    for action in actions:
        keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()]
        keys = [k for k in keys if k]
        if keys:
            rows.append((" or ".join(keys), action.text().replace("&", "").rstrip("…")))
    return rows


def view_rows(title: str, rows: Iterable[tuple[str, str]],
              attribute_keys: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """A view's rows; for the entities view with the project's attribute keys given, one
    row per attribute in place of the general one."""
    out: list[tuple[str, str]] = []
    for key, what in rows:
        if title == "Entities" and key.startswith("an attribute's key") and attribute_keys:
            out += [(k.upper(), (f"the next value of <i>{name}</i> of the entity under the "
                                 "cursor (Shift: the previous one)"))
                    for name, k in attribute_keys.items()]
        else:
            out.append((key, what))
    return out


def shortcut_sheet_html(actions: Iterable[QAction],
                        attribute_keys: Mapping[str, str] | None = None) -> str:
    def table(rows: Iterable[tuple[str, str]]) -> str:
        cells = "".join(f"<tr><td style='padding-right:18px'><b>{k}</b></td><td>{w}</td></tr>"
                        for k, w in rows)
        return f"<table cellspacing='3'>{cells}</table>"

    parts = ["<h3>Keyboard shortcuts</h3>", "<h4>Everywhere</h4>", table(shortcut_rows(actions))]
    for title, rows in VIEW_KEYS:
        parts += [f"<h4>{title}</h4>", table(view_rows(title, rows, attribute_keys))]
    return "".join(parts)


class QtHelpDialog(QDialog):
    """A page of help text (rich text), closed with Esc or Close."""

    def __init__(self, title: str, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(620, 560)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(html)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


def shortcut_sheet(actions: Iterable[QAction], parent: QWidget | None = None,
                   attribute_keys: Mapping[str, str] | None = None) -> QtHelpDialog:
    """The sheet; ``attribute_keys`` ({attribute: key}, the entities view's): the project's
    own attribute keys instead of the general row."""
    return QtHelpDialog("Keyboard shortcuts", shortcut_sheet_html(actions, attribute_keys),
                        parent)


def how_to_page(parent: QWidget | None = None) -> QtHelpDialog:
    return QtHelpDialog("How to work", HOW_TO_HTML, parent)
