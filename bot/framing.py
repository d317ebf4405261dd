"""Putting people's text into a prompt so that it cannot pass for the bot's own words.

Everything a person wrote (the problem, an answer, a thread message, a display
name) goes inside a block whose closing tag carries a random boundary chosen
for that prompt:

    <interviewer_input boundary="9f2c41d07ab3e855" kind="message" from="ana">
    ...text...
    </interviewer_input boundary="9f2c41d07ab3e855">

The person never sees the boundary, so they cannot close the block and write
a forged `Task:` header after it.  As a second guard any tag of ours inside
the text is escaped (`<` becomes `&lt;`), so even a model that skims past the
boundary sees no second opening or closing tag.  Control characters and
escape sequences are removed first (`bot.text_checks.clean_text`).
"""
from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass

from .text_checks import clean_text

TAG = "interviewer_input"
MAX_NAME_CHARS = 80
_OUR_TAG_RE = re.compile(r"<(\s*/?\s*" + TAG + r")", re.IGNORECASE)
_BLOCK_RE = re.compile(
    r'<' + TAG + r' boundary="([0-9a-f]{16})"([^>\n]*)>\n?(.*?)\n?</' + TAG + r' boundary="\1">', re.DOTALL)
_ATTR_RE = re.compile(r'(\w+)="([^"]*)"')


class Framed(str):
    """Text already framed: `Prompts.render` puts it in as it is."""


def new_boundary() -> str:
    """A fresh random boundary (64 bits); one per prompt."""
    return secrets.token_hex(8)


def one_line_name(name: str) -> str:
    """A display name as one short line: cleaned, whitespace collapsed, at most MAX_NAME_CHARS."""
    name = " ".join(clean_text(name).split())
    return name[:MAX_NAME_CHARS].strip() or "someone"


def _escape(text: str) -> str:
    return _OUR_TAG_RE.sub(r"&lt;\1", clean_text(text))


def frame(text: str, *, kind: str, boundary: str, sender: str | None = None, inline: bool = False) -> str:
    """`text` inside an interviewer_input block that only `boundary` closes."""
    body = _escape(text)
    if boundary in body:        # cannot happen by chance (2^-64); never trust it anyway
        raise ValueError("boundary found inside the text; draw a new one")
    attrs = f' boundary="{boundary}" kind="{kind}"'
    if sender is not None:
        attrs += f' from="{html.escape(one_line_name(sender), quote=True)}"'
    sep = "" if inline else "\n"
    return Framed(f"<{TAG}{attrs}>{sep}{body}{sep}</{TAG} boundary=\"{boundary}\">")


def frame_problem(text: str, boundary: str | None = None) -> str:
    """The problem or system an interview is about."""
    return frame(text.strip(), kind="problem", boundary=boundary or new_boundary())


def frame_answer(user: str, text: str, boundary: str | None = None) -> str:
    """One person's answer to the clarifying questions."""
    return frame(text.strip(), kind="answer", sender=user, boundary=boundary or new_boundary())


def frame_message(user: str, text: str, boundary: str | None = None) -> str:
    """One message of the discussion, from a named person."""
    return frame(text.strip(), kind="message", sender=user, boundary=boundary or new_boundary())


def frame_name(user: str, boundary: str | None = None) -> str:
    """A display name on its own, inline."""
    return frame(one_line_name(user), kind="name", boundary=boundary or new_boundary(), inline=True)


@dataclass(frozen=True)
class Block:
    kind: str
    sender: str | None
    text: str
    boundary: str


def read_blocks(prompt: str) -> list[Block]:
    """The interviewer_input blocks of a prompt, each ending at the tag with its own boundary."""
    out = []
    for m in _BLOCK_RE.finditer(prompt):
        attrs = dict(_ATTR_RE.findall(m.group(2)))
        sender = html.unescape(attrs["from"]) if "from" in attrs else None
        out.append(Block(kind=attrs.get("kind", ""), sender=sender, text=m.group(3), boundary=m.group(1)))
    return out


def outside_blocks(prompt: str) -> str:
    """The prompt with every interviewer_input block removed: only the bot's own words."""
    return _BLOCK_RE.sub("", prompt)
