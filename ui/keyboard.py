"""Keyboard shortcuts for the labelling pages: a small script of ours (never imported text) in
a one-pixel same-origin frame that listens on the app's window and clicks a button by its
label.

Why the listener sits on the window in the capture phase: the tag box (Base Web's select,
inside React's root) handles Enter itself, Ctrl+Enter included, by adding its highlighted
option, and then stops the event, so a listener on the document never heard Ctrl+Enter once
the box had been used, and the key added a tag instead of submitting. Capturing on the window
runs before React sees the key, so a shortcut is ours alone. The same listener lets Enter
reach the tag box only when the annotator has typed a search or moved the highlight with the
arrow keys: after a pick the menu stays open with its first option highlighted, and a second
Enter would otherwise add that option (a tag nobody chose)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

_SCRIPT = """
<script>
// Drawn for: __SHOWING__
const doc = window.parent.document;
const app = doc.defaultView;
const bindings = __BINDINGS__;
const TAG_BOX = '[data-testid="stMultiSelect"]';
const NOTE_ID = 'labelloop-key-note';
function showNote(message) {
  let note = doc.getElementById(NOTE_ID);
  if (!note) {
    note = doc.createElement('div');
    note.id = NOTE_ID;
    note.setAttribute('role', 'status');
    note.style.cssText = 'position:fixed;bottom:1.5rem;right:1.5rem;z-index:1000000;'
      + 'max-width:28rem;padding:0.75rem 1rem;border-radius:0.5rem;background:#31333f;'
      + 'color:#fff;font:0.95rem sans-serif;box-shadow:0 2px 8px rgba(0,0,0,0.3)';
    doc.body.appendChild(note);
  }
  note.textContent = message;
  app.clearTimeout(app.labelloopNoteTimer);
  app.labelloopNoteTimer = app.setTimeout(() => note.remove(), 5000);
}
function clickButton(binding) {
  const buttons = Array.from(doc.querySelectorAll('button'));
  const button = buttons.find((b) => b.innerText.trim() === binding.button);
  if (!button) { return; }
  if (button.disabled) {
    if (binding.refusal) { showNote(binding.refusal); }
    return;
  }
  button.click();
}
// Whether Enter in the tag box picks an option the annotator looked at: they typed a search
// (still in the box until a pick clears it) or moved the highlight with the arrow keys.
let highlightMoved = false;
function enterMayPick(event, tagBox) {
  const input = tagBox.querySelector('input');
  return highlightMoved || (input != null && input.value !== '');
}
function onKey(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  const binding = bindings.find((b) => b.ctrl === ctrl && b.alt === event.altKey
    && (b.key === event.key || b.code === event.code));
  const tagBox = event.target instanceof app.Element ? event.target.closest(TAG_BOX) : null;
  if (binding) {
    event.preventDefault();
    event.stopImmediatePropagation();
    highlightMoved = false;
    // Leaving the field first commits what was typed into it (a note) before the click; a
    // half-typed tag search is dropped, never turned into a tag.
    if (doc.activeElement) { doc.activeElement.blur(); }
    // The app window's timer, not this frame's: a rerun can replace this frame between the key
    // and the click, and a removed frame's timers never fire.
    app.setTimeout(() => clickButton(binding), 0);
    return;
  }
  if (!tagBox) { return; }
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') { highlightMoved = true; return; }
  if (event.key !== 'Enter') { return; }
  if (ctrl || event.altKey || event.shiftKey || !enterMayPick(event, tagBox)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
  highlightMoved = false;
}
// One listener per window, replaced on every load: a listener left by a frame that has gone
// (another page, an earlier project) must not act with that page's bindings.
if (app.labelloopKeydown) { app.removeEventListener('keydown', app.labelloopKeydown, true); }
app.labelloopKeydown = onKey;
app.addEventListener('keydown', onKey, true);
// The tag box is brought into view when it gets the focus. Focused out of view (Review's box
// sits below the conflict tables), the first key typed made Chromium scroll the page to the
// caret; the tag box's menu closes on any scroll of the page (its popover follows the box
// and gives up when the page moves) and the box then drops its search, so the first letter
// typed was lost (a search for "gan" became "an" and Enter picked anomaly-detection) or the
// menu closed under the annotator and Enter picked nothing. Scrolling now, before any menu is
// open, leaves nothing for a key to scroll.
function showTagBox(tagBox) {
  const box = tagBox.getBoundingClientRect();
  if (box.top < 0 || box.bottom > app.innerHeight) {
    tagBox.closest(TAG_BOX).scrollIntoView({block: 'center', behavior: 'instant'});
  }
}
// The frame can load before the tag box is drawn (a busy machine, a long page): look again
// for up to three seconds rather than leave the keyboard without a place to type.
function focusTagBox(triesLeft) {
  const tagBox = doc.querySelector(TAG_BOX + ' input');
  if (tagBox) {
    showTagBox(tagBox);
    tagBox.focus({preventScroll: true});
  } else if (triesLeft > 0) { app.setTimeout(() => focusTagBox(triesLeft - 1), 100); }
}
focusTagBox(30);
</script>
"""


@dataclass(frozen=True)
class Shortcut:
    """``keys`` as a person reads them: "Ctrl+Enter" (Cmd on a Mac too), "Alt+S", "Alt+1".
    ``refusal`` is said on screen when the key is pressed while its button is disabled, so
    that a key that does nothing says why."""

    keys: str
    button: str
    refusal: str = ""

    def binding(self) -> dict[str, object]:
        modifier, key = self.keys.split("+", 1)
        code = f"Key{key.upper()}" if key.isalpha() and len(key) == 1 else f"Digit{key}"
        return {
            "ctrl": modifier == "Ctrl",
            "alt": modifier == "Alt",
            "key": key if len(key) > 1 else "",
            "code": code if len(key) == 1 else "",
            "button": self.button,
            "refusal": self.refusal,
        }


ANNOTATE_SHORTCUTS = (
    Shortcut("Ctrl+Enter", "Submit"),
    Shortcut("Alt+S", "Skip"),
    Shortcut("Alt+U", "Undo last judgement", "Nothing to undo."),
)

SHORTCUTS = (
    "Keys: type to search tags (names and aliases), Enter adds the highlighted tag, "
    "Backspace removes the last one · Ctrl+Enter submits what the tag box holds (it never "
    "adds a tag) · Alt+S skips · Alt+U undoes your last judgement or skip"
)


def install_shortcuts(
    shortcuts: Sequence[Shortcut] = ANNOTATE_SHORTCUTS, showing: str = ""
) -> None:
    """``showing`` names what the page shows (a submission key, a project id): the frame is
    drawn anew when it changes, so the new item's tag box gets the focus and the keyboard can
    go on without a click. An unchanged frame is kept by Streamlit and would not run again."""
    bindings = json.dumps([s.binding() for s in shortcuts]).replace("<", "\\u003c")
    script = _SCRIPT.replace("__BINDINGS__", bindings)
    st.iframe(script.replace("__SHOWING__", json.dumps(showing).replace("<", "\\u003c")), height=1)
