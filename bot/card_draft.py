"""Model-written material when the bank has nothing: a hidden card for a free-form problem, and a
curveball generated for the design on the table.  Prompts and parsers only; outcomes are named.

Practice mode: `card_write_prompt(problem)` -> model -> `parse_card_draft(reply, problem)`; keep the
card in the thread's state (`card.model_dump_json()`) so every answer comes from the same card.
Curveball button without a card (or with its throwables used up): `curveball_prompt(...)` -> model ->
`parse_curveball(reply)`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from string import Template

from pydantic import ValidationError

from .cards import ProblemCard
from .config import PROJECT_ROOT
from .json_reply import extract_json

PROMPTS_DIR = PROJECT_ROOT / "prompts"
CUSTOM_ID = "custom"
MAX_CURVEBALL = 400
MAX_DESIGN_CHARS = 12_000


class DraftOutcome(str, Enum):
    OK = "ok"
    NO_JSON = "no_json"
    BAD_JSON = "bad_json"
    WRONG_SHAPE = "wrong_shape"


@dataclass(frozen=True)
class CardDraft:
    outcome: DraftOutcome
    card: ProblemCard | None = None
    detail: str = ""


@lru_cache(maxsize=8)
def _template(directory: str, name: str) -> Template:
    return Template((Path(directory) / f"{name}.txt").read_text(encoding="utf-8"))


def card_write_prompt(problem: str, *, directory: Path | str = PROMPTS_DIR) -> str:
    return _template(str(directory), "card_write").substitute(problem=problem.strip()).strip()


def parse_card_draft(reply: str, problem: str) -> CardDraft:
    """The model's card as a ProblemCard (id 'custom', the problem as title and alias), or why not."""
    raw = extract_json(reply or "")
    if raw is None:
        return CardDraft(DraftOutcome.NO_JSON, detail="the reply holds no JSON object")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return CardDraft(DraftOutcome.BAD_JSON, detail=f"the JSON does not parse ({exc.msg} at line {exc.lineno})")
    title = " ".join(problem.split()) or "Custom problem"
    data.update(id=CUSTOM_ID, title=title, aliases=[title])
    data.setdefault("keywords", [])
    try:
        return CardDraft(DraftOutcome.OK, ProblemCard.model_validate(data))
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:6])
        return CardDraft(DraftOutcome.WRONG_SHAPE, detail=where)


# --- generated curveballs -------------------------------------------------------------------------

def curveball_prompt(problem: str, design: str, already_asked: Sequence[str] = (), *,
                     directory: Path | str = PROMPTS_DIR) -> str:
    """Ask for one follow-up about this design. A long design keeps its end (the latest state)."""
    design = design.strip()
    if len(design) > MAX_DESIGN_CHARS:
        design = "[...]\n" + design[-MAX_DESIGN_CHARS:]
    asked = "\n".join(f"- {q}" for q in already_asked) or "- nothing yet"
    return _template(str(directory), "curveball").substitute(
        problem=problem.strip(), design=design or "(nothing yet)", already_asked=asked).strip()


_LABEL = re.compile(r"^\s*(?:\*\*)?(?:curveball|follow-up|follow up|question|interviewer)\s*:?\s*(?:\*\*)?\s*:?\s*",
                    re.IGNORECASE)


def parse_curveball(reply: str) -> str | None:
    """The question from the model's reply, cleaned of labels and quotes; None if nothing usable."""
    text = (reply or "").strip()
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    if not paragraphs:
        return None
    question = " ".join(_LABEL.sub("", paragraphs[0]).split()).strip("\"'\u201c\u201d ")
    if not question or len(question) > MAX_CURVEBALL:
        return None
    return question
