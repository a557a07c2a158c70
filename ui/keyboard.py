"""Keyboard shortcuts for the labelling pages: a small script of ours (never imported text) in
a one-pixel same-origin frame that listens on the app's document and clicks a button by its
label."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

_SCRIPT = """
<script>
const doc = window.parent.document;
const bindings = __BINDINGS__;
function clickButton(label) {
  const buttons = Array.from(doc.querySelectorAll('button'));
  const button = buttons.find((b) => b.innerText.trim() === label);
  if (button) { button.click(); }
}
function onKey(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  const binding = bindings.find((b) => b.ctrl === ctrl && b.alt === event.altKey
    && (b.key === event.key || b.code === event.code));
  if (!binding) { return; }
  event.preventDefault();
  // Leaving the field first commits what was typed into it (a note, a search) before the click.
  if (doc.activeElement) { doc.activeElement.blur(); }
  // The app window's timer, not this frame's: a rerun can replace this frame between the key
  // and the click, and a removed frame's timers never fire.
  doc.defaultView.setTimeout(() => clickButton(binding.button), 0);
}
// One listener per document, replaced on every load: a listener left by a frame that has gone
// (another page, an earlier project) no longer runs, so it must not block this one.
if (doc.labelloopKeydown) { doc.removeEventListener('keydown', doc.labelloopKeydown); }
doc.labelloopKeydown = onKey;
doc.addEventListener('keydown', onKey);
// The frame can load before the tag box is drawn (a busy machine, a long page): look again
// for up to three seconds rather than leave the keyboard without a place to type.
function focusTagBox(triesLeft) {
  const tagBox = doc.querySelector('[data-testid="stMultiSelect"] input');
  if (tagBox) { tagBox.focus({preventScroll: true}); }
  else if (triesLeft > 0) { setTimeout(() => focusTagBox(triesLeft - 1), 100); }
}
focusTagBox(30);
</script>
"""


@dataclass(frozen=True)
class Shortcut:
    """``keys`` as a person reads them: "Ctrl+Enter" (Cmd on a Mac too), "Alt+S", "Alt+1"."""

    keys: str
    button: str

    def binding(self) -> dict[str, object]:
        modifier, key = self.keys.split("+", 1)
        code = f"Key{key.upper()}" if key.isalpha() and len(key) == 1 else f"Digit{key}"
        return {
            "ctrl": modifier == "Ctrl",
            "alt": modifier == "Alt",
            "key": key if len(key) > 1 else "",
            "code": code if len(key) == 1 else "",
            "button": self.button,
        }


ANNOTATE_SHORTCUTS = (
    Shortcut("Ctrl+Enter", "Submit"),
    Shortcut("Alt+S", "Skip"),
    Shortcut("Alt+U", "Undo last judgement"),
)

SHORTCUTS = (
    "Keys: type to search tags (names and aliases), Enter adds the highlighted tag, "
    "Backspace removes the last one · Ctrl+Enter submits · Alt+S skips · Alt+U undoes"
)


def install_shortcuts(shortcuts: Sequence[Shortcut] = ANNOTATE_SHORTCUTS) -> None:
    bindings = json.dumps([s.binding() for s in shortcuts]).replace("<", "\\u003c")
    st.iframe(_SCRIPT.replace("__BINDINGS__", bindings), height=1)
