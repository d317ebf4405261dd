"""Files attached to a command or a reply: text and Markdown files are read as part of the message.

Adapters download only what `inbound.readable` allows and put the content in
`InboundAttachment.text`; this module decides what becomes of each file and
what the person is told about the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import texts
from .inbound import InboundAttachment
from .text_checks import clean_text, is_visible


@dataclass
class Taken:
    text: str                                          # the message with the files' text after it
    problems: list[str] = field(default_factory=list)  # one sentence per file left aside


def take_attachments(text: str, attachments: list[InboundAttachment], limit: int) -> Taken:
    """The message text with every readable text file appended; a clear sentence for each file that is not."""
    parts = [text.strip()] if text.strip() else []
    problems: list[str] = []
    for att in attachments:
        if not att.is_text:
            problems.append(texts.attachment_unsupported(att.filename))
        elif att.text is None:
            too_big = att.size > limit * 4
            problems.append(texts.attachment_too_long(att.filename, att.size, limit) if too_big
                            else texts.attachment_unreadable(att.filename))
        else:
            body = clean_text(att.text).strip()
            if len(body) > limit:
                problems.append(texts.attachment_too_long(att.filename, len(body), limit))
            elif is_visible(body):
                parts.append(body)
    return Taken(text="\n\n".join(parts), problems=problems)
