"""Checks for text that comes from people: hidden control codes and invisible input.

`clean_text` removes what can change how text is shown or read without being
seen: terminal escape sequences, control characters and bidi overrides.
`is_visible` says whether anything readable is left: a problem made only of
zero-width spaces or right-to-left marks passes `strip()` but shows nothing.
"""
from __future__ import annotations

import re
import unicodedata

# ESC-based sequences: CSI ("\x1b[31m"), OSC ("\x1b]0;title\x07"), other two-byte escapes; also the
# one-byte C1 CSI (U+009B).
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Bidi embeddings, overrides and isolates reorder what is displayed ("Trojan source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters in visible categories that still draw nothing.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")
_KEEP = frozenset("\n\t")


def _dropped(ch: str) -> bool:
    if ch in _KEEP:
        return False
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc"


def clean_text(text: str) -> str:
    """Text without escape sequences, control characters (newlines and tabs stay) or bidi overrides."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI_RE.sub("", text)
    return "".join(ch for ch in text if not _dropped(ch))


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_GLYPHS


def is_visible(text: str) -> bool:
    """True when the cleaned text has at least one letter, digit, punctuation mark or symbol."""
    return any(_visible(ch) for ch in clean_text(text))
