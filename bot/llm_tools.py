"""Structured output across providers (pure helpers).

A tool is given in the Anthropic shape the engine already uses
(`{"name", "description", "input_schema"}`).  OpenAI-compatible servers take
it as a function tool; servers without tool support get an instruction to
answer with the object in a fenced ```json block instead, and the object is
read back out of the text.
"""
from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n(.*?)```", re.DOTALL)


def openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic-style tool as an OpenAI function tool."""
    return {"type": "function", "function": {
        "name": tool["name"],
        "description": tool.get("description", ""),
        "parameters": tool.get("input_schema") or {"type": "object"},
    }}


def forced_choice(tool: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool["name"]}}


def json_instruction(tool: dict[str, Any]) -> str:
    """What to ask of a model that cannot call tools: the tool's input as a fenced JSON block."""
    schema = json.dumps(tool.get("input_schema") or {"type": "object"}, separators=(",", ":"))
    return (f"Answer with exactly one JSON object, the input of `{tool['name']}` "
            f"({tool.get('description', '').strip()}), inside a ```json fenced code block and nothing else. "
            f"It must match this JSON Schema: {schema}")


def _first_object(text: str) -> dict[str, Any] | None:
    """The first `{...}` in text that parses as a JSON object."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a model wrote: a ```json block first, any fenced block next, else bare JSON."""
    blocks = _FENCE.findall(text)
    ordered = [b for lang, b in blocks if lang.lower() == "json"] + [b for lang, b in blocks if lang.lower() != "json"]
    for body in ordered:
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            value = _first_object(body)
        if isinstance(value, dict):
            return value
    return _first_object(text)


def arguments_object(arguments: str) -> dict[str, Any] | None:
    """A tool call's `arguments` string as a dict (None when it is not a JSON object)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return extract_json_object(arguments)
    return value if isinstance(value, dict) else None
