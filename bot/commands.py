"""The words people type in a thread (or as a command's text) that mean a command."""
from __future__ import annotations

import re
from enum import StrEnum


class Word(StrEnum):
    END = "end"
    RETRY = "retry"
    EXPORT = "export"
    HELP = "help"
    USAGE = "usage"
    CURVEBALL = "curveball"
    SKIP = "skip"
    GO = "go"       # start now / carry on (meaningful while answers are gathered or at a check-in)
    NEXT = "next"   # practice: move on to the next phase
    HINT = "hint"   # practice: ask the interviewer for a hint (counted in the score)
    NONE = "none"   # an ordinary message


_PATTERNS: list[tuple[Word, re.Pattern[str]]] = [
    (Word.HELP, re.compile(r"^\s*/?(help|\?|-h|--help)\s*[?!.]*\s*$", re.I)),
    (Word.CURVEBALL, re.compile(r"^\s*/?(curve ?ball|give us a curve ?ball|follow-? ?up)\s*[?!.]*\s*$", re.I)),
    (Word.USAGE, re.compile(r"^\s*/?(usage|budget|quota)\s*[?!.]*\s*$", re.I)),
    (Word.EXPORT, re.compile(r"^\s*/?(export|transcript)\s*[.!]*\s*$", re.I)),
    (Word.END, re.compile(r"^\s*/?(end|stop|finish|quit)(\s+(the\s+)?(interview|session))?\s*[.!]*\s*$", re.I)),
    (Word.RETRY, re.compile(r"^\s*/?(retry|try again|again)\s*[.!]*\s*$", re.I)),
    (Word.GO, re.compile(
        r"^\s*/?(go|go go|let'?s go|start now|continue|carry on|proceed|keep going)\s*[.!]*\s*$", re.I)),
    (Word.NEXT, re.compile(r"^\s*/?(next|next phase|move on|let'?s move on)\s*[.!]*\s*$", re.I)),
    (Word.HINT, re.compile(
        r"^\s*/?(hint|a hint|give me a hint|can i (get|have) a hint|any hints?)\s*(please)?\s*[?.!]*\s*$", re.I)),
    (Word.SKIP, re.compile(
        r"^\s*/?(skip|you decide|your call|up to you|assume|go ahead|no preference|whatever you think|"
        r"dealer'?s choice|use (sensible )?defaults|idk|not sure)\b", re.I)),
]

# Typed as the whole text of `/interview` or `/diagram`, these mean the thread command, not a problem.
THREAD_WORDS = {"end", "stop", "skip", "retry", "quit", "finish", "cancel"}


def word_of(text: str) -> Word:
    for word, pattern in _PATTERNS:
        if pattern.match(text):
            return word
    return Word.NONE


def is_help_request(text: str) -> bool:
    """Command text that asks how to use the bot rather than naming a problem."""
    t = text.strip().lower()
    return t in {"help", "?", "-h", "--help", "usage"} or (t.startswith("-") and len(t.split()) == 1)


def thread_word(text: str) -> str | None:
    t = text.strip().lower()
    return t if t in THREAD_WORDS else None
