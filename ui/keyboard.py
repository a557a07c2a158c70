"""Keyboard shortcuts for the labelling pages: a small script of ours (never imported text) in
a one-pixel same-origin frame that listens on the app's document."""

from __future__ import annotations

import streamlit as st

_SCRIPT = """
<script>
const doc = window.parent.document;
function clickButton(label) {
  const buttons = Array.from(doc.querySelectorAll('button'));
  const button = buttons.find((b) => b.innerText.trim() === label);
  if (button) { button.click(); }
}
if (!doc.labelloopShortcuts) {
  doc.labelloopShortcuts = true;
  doc.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
      event.preventDefault(); clickButton('Submit');
    } else if (event.altKey && (event.key === 's' || event.key === 'ß')) {
      event.preventDefault(); clickButton('Skip');
    } else if (event.altKey && (event.key === 'u' || event.key === '¨')) {
      event.preventDefault(); clickButton('Undo last judgement');
    }
  });
}
const tagBox = doc.querySelector('[data-testid="stMultiSelect"] input');
if (tagBox) { tagBox.focus({preventScroll: true}); }
</script>
"""

SHORTCUTS = (
    "Keys: type to search tags (names and aliases), Enter adds the highlighted tag, "
    "Backspace removes the last one · Ctrl+Enter submits · Alt+S skips · Alt+U undoes"
)


def install_shortcuts() -> None:
    st.iframe(_SCRIPT, height=1)
