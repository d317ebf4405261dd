"""Prompt templates: text files in `prompts/`, filled with `string.Template`.

`$name` placeholders (not `{}`) so JSON examples inside templates need no escaping.
Placeholders that carry people's text are declared in `UNTRUSTED`; `render`
frames them (`bot.framing`) so that text can never pass for our instructions.
"""
from __future__ import annotations

from pathlib import Path
from string import Template

from .framing import Framed, frame, frame_name, new_boundary
from .sections import marker

TEMPLATES = (
    "system", "clarify", "clarify_fix", "design", "design_missing", "diagram_only",
    "discuss", "graph_fix", "diagram_fallback", "diagram_graph", "summarize", "design_next",
)

# template -> placeholder -> (block kind, placeholder holding the sender's name or None).
# A "name" placeholder is framed inline.
UNTRUSTED: dict[str, dict[str, tuple[str, str | None]]] = {
    "clarify": {"problem": ("problem", None)},
    "diagram_only": {"system": ("problem", None)},
    "design": {"answers_block": ("answers", None)},
    "design_next": {"notes": ("message", None)},
    "discuss": {"problem": ("problem", None), "message": ("message", "user"), "user": ("name", None)},
    "summarize": {"problem": ("problem", None), "conversation": ("conversation", None)},
}


class Prompts:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        missing = [n for n in TEMPLATES if not (self.directory / f"{n}.txt").is_file()]
        if missing:
            raise FileNotFoundError(f"prompt templates missing in {self.directory}: {', '.join(missing)}")
        self._text = {n: (self.directory / f"{n}.txt").read_text(encoding="utf-8") for n in TEMPLATES}

    @property
    def system(self) -> str:
        return self._text["system"]

    def render(self, name: str, **values: object) -> str:
        """Fill a template; people's text goes in framed, under one fresh boundary per call."""
        values.setdefault("graph_format", self._text["diagram_graph"].strip())
        filled = {k: str(v) for k, v in values.items()}
        boundary = new_boundary()
        for key, (kind, sender_key) in UNTRUSTED.get(name, {}).items():
            value = values.get(key)
            if value is None or isinstance(value, Framed):
                continue
            if kind == "name":
                filled[key] = frame_name(str(value), boundary)
            else:
                sender = str(values[sender_key]) if sender_key and values.get(sender_key) is not None else None
                filled[key] = frame(str(value).strip(), kind=kind, boundary=boundary, sender=sender)
        return Template(self._text[name]).substitute(filled).strip()


def section_list(catalogue: dict[str, str], only: list[str] | None = None) -> str:
    ids = [s for s in catalogue if only is None or s in only]
    return "\n".join(marker(s) for s in ids)
