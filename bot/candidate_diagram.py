"""The candidate's own diagram in practice mode: a ```graph block, another code block, or an image.

Pure checks and conversions; the adapters download attachments, the engine sends them on.
Images go to the model as image content blocks (its vision input); they are checked first by size
and by their actual bytes, so a renamed file or a huge photo gets a clear message instead of an API error.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import Enum

from .diagram.model import Graph, GraphError, parse_graph

MAX_IMAGE_BYTES = 5 * 1024 * 1024          # the model API's limit for one image
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
ALLOWED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class ImageOutcome(str, Enum):
    OK = "ok"
    EMPTY = "empty"
    TOO_BIG = "too_big"
    WRONG_TYPE = "wrong_type"


@dataclass(frozen=True)
class ImageCheck:
    outcome: ImageOutcome
    media_type: str | None = None
    message: str = ""            # what to tell the candidate when it is not OK


def sniff_media_type(data: bytes) -> str | None:
    """The image type from the file's first bytes (PNG, JPEG, GIF, WebP), whatever its name says."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def check_image(data: bytes, *, filename: str = "the image", max_bytes: int = MAX_IMAGE_BYTES) -> ImageCheck:
    if not data:
        return ImageCheck(ImageOutcome.EMPTY, message=f"{filename} arrived empty; could you attach it again?")
    if len(data) > max_bytes:
        return ImageCheck(ImageOutcome.TOO_BIG, message=(
            f"{filename} is {_size(len(data))}; I can read images up to {_size(max_bytes)}. "
            "A screenshot or a smaller export of the drawing works well."))
    media_type = sniff_media_type(data)
    if media_type is None:
        return ImageCheck(ImageOutcome.WRONG_TYPE, message=(
            f"I can't read {filename} as an image. Please attach a PNG, JPEG, GIF or WebP "
            "(a whiteboard photo or an export from your drawing tool), or paste the diagram as text."))
    return ImageCheck(ImageOutcome.OK, media_type)


def image_block(data: bytes, media_type: str) -> dict[str, object]:
    """An image content block for the model's messages API."""
    if media_type not in ALLOWED_TYPES:
        raise ValueError(f"unsupported image type {media_type}")
    return {"type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode("ascii")}}


# --- diagrams written as text -------------------------------------------------------------------------

class DiagramKind(str, Enum):
    GRAPH = "graph"              # our graph JSON in a ```graph block: can be drawn on the whiteboard
    BAD_GRAPH = "bad_graph"      # a ```graph block that does not parse: tell the candidate why
    TEXT = "text"                # another fenced block (ASCII art, Mermaid, a list of arrows)
    NONE = "none"


@dataclass(frozen=True)
class CandidateDiagram:
    kind: DiagramKind
    body: str = ""
    graph: Graph | None = None
    problem: str = ""            # why a graph block was rejected


_FENCED = re.compile(r"```([A-Za-z0-9_-]*)[^\n]*\n(.*?)(?:\n```|\Z)", re.DOTALL)


def find_candidate_diagram(text: str) -> CandidateDiagram:
    """The first diagram in a candidate's message: a graph block wins over other code blocks."""
    blocks = [(m.group(1).lower(), m.group(2).strip("\n")) for m in _FENCED.finditer(text or "")]
    for lang, body in blocks:
        if lang == "graph":
            try:
                return CandidateDiagram(DiagramKind.GRAPH, body, parse_graph(body))
            except GraphError as exc:
                return CandidateDiagram(DiagramKind.BAD_GRAPH, body, problem=str(exc))
    for _, body in blocks:
        if body.strip():
            return CandidateDiagram(DiagramKind.TEXT, body)
    return CandidateDiagram(DiagramKind.NONE)
