"""Prompt templates: text files in `prompts/`, filled with `string.Template`.

`$name` placeholders (not `{}`) so JSON examples inside templates need no escaping.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

from .sections import marker

TEMPLATES = (
    "system", "clarify", "clarify_fix", "design", "design_missing", "diagram_only",
    "discuss", "graph_fix", "diagram_fallback", "diagram_graph",
)


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
        values.setdefault("graph_format", self._text["diagram_graph"].strip())
        return Template(self._text[name]).substitute({k: str(v) for k, v in values.items()}).strip()


def section_list(catalogue: dict[str, str], only: list[str] | None = None) -> str:
    ids = [s for s in catalogue if only is None or s in only]
    return "\n".join(marker(s) for s in ids)


@lru_cache(maxsize=4)
def load_prompts(directory: str) -> Prompts:
    return Prompts(Path(directory))
