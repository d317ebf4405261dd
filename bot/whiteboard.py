"""Turns the model's diagram section into the message the bot posts.

The model describes the architecture as a JSON graph; `bot.diagram` draws it.
When the graph is invalid we ask the model once more with the validation
errors (forced tool call); if that fails too we fall back to the model's own
text diagram, clearly labelled, rather than losing the section.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from . import diagram as dg
from .formatting import neutralize_mentions
from .freehand import wrap_fenced_diagrams
from .llm import LLMError, ModelClient
from .messages import Attachment
from .prompts import Prompts
from .sections import extract_graph_block
from .state import Turn, Usage

log = logging.getLogger(__name__)


@dataclass
class Whiteboard:
    markdown: str
    graph: dict[str, Any] | None
    attachments: list[Attachment] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    fallback: bool = False


def render_graph_markdown(graph: dg.Graph, *, width: int, ascii_only: bool, previous: dg.Graph | None = None,
                          max_crossings: int = dg.DEFAULT_MAX_CROSSINGS,
                          max_lines: int = dg.DEFAULT_MAX_HEIGHT) -> tuple[str, list[str]]:
    """The diagram and legend as a code block, plus change lines if any."""
    out = dg.render_text(graph, width=width, ascii_only=ascii_only, previous=previous,
                         max_crossings=max_crossings, max_height=max_lines)
    # The legend sits in the same code block, right under the picture, as on a whiteboard.
    body = out.text.rstrip("\n") + ("\n\n" + out.legend.rstrip("\n") if out.legend.strip() else "")
    parts = ["```text\n" + body + "\n```"]
    if out.changes:
        parts.append("**What changed**\n" + "\n".join(f"- {c}" for c in out.changes))
    return "\n".join(parts), list(out.changes)


class WhiteboardMaker:
    def __init__(self, llm: ModelClient, prompts: Prompts, *, width: int = 60, ascii_only: bool = False,
                 png: bool = True, max_crossings: int = dg.DEFAULT_MAX_CROSSINGS,
                 max_lines: int = dg.DEFAULT_MAX_HEIGHT):
        self.llm = llm
        self.prompts = prompts
        self.width = width
        self.ascii_only = ascii_only
        self.png = png
        self.max_crossings = max_crossings     # settings.diagram_max_crossings
        self.max_lines = max_lines             # settings.diagram_max_lines

    async def build(self, body: str, usage: Usage, *, previous: dict[str, Any] | None = None,
                    context: str = "") -> Whiteboard:
        """Render a diagram section body (```graph JSON + story)."""
        raw, story = extract_graph_block(body)
        graph, errors = self._parse(raw)
        if graph is None:
            graph = await self._repair(raw or "(none given)", errors, usage, context or story)
        if graph is None:
            text = await self._fallback(context or story, usage)
            if text is None:
                note = "_(I couldn't draw the diagram this time; ask me to \"redraw the diagram\".)_"
                return Whiteboard(markdown=neutralize_mentions(f"{note}\n\n{story}".strip()), graph=None, fallback=True)
            md = "_Diagram drawn freehand by the model (the structured diagram failed):_\n" + text
            return Whiteboard(markdown=neutralize_mentions(f"{md}\n\n{story}".strip()), graph=None, fallback=True)
        prev_graph = None
        if previous:
            try:
                prev_graph = dg.parse_graph(previous)
            except dg.GraphError:
                prev_graph = None
        drawn, changes = render_graph_markdown(graph, width=self.width, ascii_only=self.ascii_only,
                                               previous=prev_graph, max_crossings=self.max_crossings,
                                               max_lines=self.max_lines)
        attachments: list[Attachment] = []
        if self.png:
            png = await asyncio.to_thread(dg.render_png, graph, previous=prev_graph)
            if png:
                attachments.append(Attachment(filename="diagram.png", data=png))
        md = drawn + ("\n\n" + story if story else "")
        return Whiteboard(markdown=neutralize_mentions(md), graph=graph.model_dump(mode="json"),
                          attachments=attachments, changes=changes)

    @staticmethod
    def _parse(raw: str | None) -> tuple[dg.Graph | None, list[str]]:
        if raw is None:
            return None, ["no ```graph block was found"]
        try:
            graph, repairs = dg.parse_graph_report(raw)
        except dg.GraphError as exc:
            return None, list(exc.errors) or [str(exc)]
        if repairs:     # fixed locally (long labels, unknown kinds, duplicate edges): no repair call
            log.info("diagram graph repaired locally: %s", "; ".join(repairs))
        return graph, []

    async def _repair(self, raw: str, errors: list[str], usage: Usage, context: str) -> dg.Graph | None:
        ask = self.prompts.render("graph_fix", errors="\n".join(f"- {e}" for e in errors))
        content = f"{ask}\n\nThe JSON you gave:\n{raw[:6000]}\n\nThe design it belongs to:\n{context[:6000]}"
        turns = [Turn(role="user", content=content)]
        try:
            result = await self.llm.complete(self.prompts.system, turns, tool=dg.GRAPH_TOOL, max_tokens=2000)
        except LLMError as exc:
            log.warning("diagram repair call failed: %s", exc)
            return None
        usage.add(result.usage)
        if result.tool_input is None:
            return None
        try:
            return dg.parse_graph(result.tool_input)
        except dg.GraphError as exc:
            log.info("diagram still invalid after repair: %s", exc.errors)
            return None

    async def _fallback(self, context: str, usage: Usage) -> str | None:
        ask = self.prompts.render("diagram_fallback")
        turns = [Turn(role="user", content=f"{ask}\n\nThe design:\n{context[:6000]}")]
        try:
            result = await self.llm.complete(self.prompts.system, turns, max_tokens=1500)
        except LLMError as exc:
            log.warning("fallback diagram call failed: %s", exc)
            return None
        usage.add(result.usage)
        text = wrap_fenced_diagrams(result.text.strip(), self.width)
        return text if "```" in text else None
