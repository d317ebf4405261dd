"""Finding the JSON object in a model's reply (it may add prose or a code fence around it)."""
from __future__ import annotations

import re

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n\s*```", re.DOTALL | re.IGNORECASE)


def extract_json(reply: str) -> str | None:
    """The JSON object in a reply: a fenced ```json block if any, else the outermost {...} span."""
    for block in _FENCE.findall(reply):
        if block.strip().startswith("{"):
            return block.strip()
    start, end = reply.find("{"), reply.rfind("}")
    return reply[start:end + 1] if 0 <= start < end else None
