"""Extra instructions appended to the rendered design prompt: depth (estimates, data model, paths,
consistency, recap) and the level.  Pure text assembly; the engine decides when to use it.

    ask = prompts.render("design", ...) + "\\n\\n" + design_extras(level)
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .config import PROJECT_ROOT
from .levels import Level, level_prompt

PROMPTS_DIR = PROJECT_ROOT / "prompts"


@lru_cache(maxsize=4)
def depth_text(directory: str = str(PROMPTS_DIR)) -> str:
    """prompts/design_depth.txt, as written (it holds no template placeholders)."""
    return (Path(directory) / "design_depth.txt").read_text(encoding="utf-8").strip()


def design_extras(level: Level | None = None, *, depth: bool = True, announce_level: bool = False,
                  directory: Path | str = PROMPTS_DIR) -> str:
    """The block to append after the design prompt: the depth instructions (unless `depth` is off,
    e.g. for diagram-only mode) followed by the level's guidance (default senior).

    `announce_level`: also ask the model to state its level (diagram-only mode has no clarifying
    step where `levels.level_opening_note` would have said it)."""
    parts = [depth_text(str(directory))] if depth else []
    parts.append(level_prompt(level, announce=announce_level, path=str(Path(directory) / "levels.txt")))
    return "\n\n".join(parts)
