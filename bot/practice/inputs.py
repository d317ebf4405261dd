"""A candidate's message as the interviewer reads it: text, text files, a diagram as text or graph, images.

The core decides here what each attachment becomes and what the candidate is told about the ones it
cannot use; adapters only fetched the bytes (`inbound.fetch_as`).  Images become the model's vision input
(`ImagePart`, sent with this one turn), checked by their real bytes and size first.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import diagram as dg
from ..candidate_diagram import DiagramKind, ImageOutcome, check_image, find_candidate_diagram
from ..inbound import InboundAttachment
from ..state import ImagePart
from ..text_checks import clean_text, is_visible
from . import texts


@dataclass
class CandidateInput:
    text: str                                                # the message, with text files after it
    images: list[ImagePart] = field(default_factory=list)
    image_names: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)         # one sentence per thing left aside
    drawing: str = ""                                        # a ```graph block, drawn as text for the model

    @property
    def empty(self) -> bool:
        return not is_visible(self.text) and not self.images


def _image(att: InboundAttachment, max_bytes: int, found: CandidateInput) -> None:
    if att.data is None:
        too_big = att.size > max_bytes
        found.notices.append(texts.image_too_big(att.filename, att.size, max_bytes) if too_big
                             else texts.image_unreadable(att.filename))
        return
    check = check_image(att.data, filename=f"`{att.filename}`", max_bytes=max_bytes)
    if check.outcome is not ImageOutcome.OK or check.media_type is None:
        found.notices.append(check.message)
        return
    found.images.append(ImagePart(media_type=check.media_type, data=att.data))
    found.image_names.append(att.filename)


def _text_file(att: InboundAttachment, max_chars: int, parts: list[str], found: CandidateInput) -> None:
    from ..texts import attachment_too_long, attachment_unreadable

    if att.text is None:
        found.notices.append(attachment_too_long(att.filename, att.size, max_chars) if att.size > max_chars * 4
                             else attachment_unreadable(att.filename))
        return
    body = clean_text(att.text).strip()
    if len(body) > max_chars:
        found.notices.append(attachment_too_long(att.filename, len(body), max_chars))
    elif is_visible(body):
        parts.append(body)


def read_input(text: str, attachments: list[InboundAttachment], *, max_chars: int, max_image_bytes: int,
               width: int = 60) -> CandidateInput:
    parts = [text.strip()] if text.strip() else []
    found = CandidateInput(text="")
    for att in attachments:
        if att.is_image or att.data is not None:
            _image(att, max_image_bytes, found)
        elif att.is_text:
            _text_file(att, max_chars, parts, found)
        else:
            found.notices.append(texts.file_unsupported(att.filename))
    found.text = "\n\n".join(parts)
    diagram = find_candidate_diagram(found.text)
    if diagram.kind is DiagramKind.BAD_GRAPH:
        found.notices.append(texts.bad_graph(diagram.problem))
    elif diagram.kind is DiagramKind.GRAPH and diagram.graph is not None:
        drawn = dg.render_text(diagram.graph, width=width)
        found.drawing = drawn.text.rstrip() + "\n" + drawn.legend.rstrip()
    return found
