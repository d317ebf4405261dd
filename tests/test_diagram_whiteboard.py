"""The whiteboard repairs an almost-right graph locally: no repair call to the model (fake Anthropic server)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.llm import LLM
from bot.prompts import Prompts
from bot.state import Usage
from bot.whiteboard import WhiteboardMaker
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import FakeAnthropic, Reply

GOLDEN = Path(__file__).parent / "golden" / "diagrams"


@pytest.fixture
async def fake():
    async with FakeAnthropic() as f:
        yield f


@pytest.fixture
async def maker(fake):
    llm = LLM(make_settings(fake.base_url))
    yield WhiteboardMaker(llm, Prompts(str(PROJECT_ROOT / "prompts")), width=42, png=False)
    await llm.close()


def section(graph: dict) -> str:
    return "```graph\n" + json.dumps(graph) + "\n```\nThe crawler fetches politely."


async def test_a_49_character_edge_label_is_shortened_not_sent_back(fake, maker):
    g = json.loads((GOLDEN / "web_crawler.json").read_text())
    g["edges"][0]["label"] = "fetch robots.txt and then the page HTML, politely"
    g["nodes"][1]["kind"] = "Kafka topic"                       # unknown kind: nearest is queue
    g["edges"].append(dict(g["edges"][1]))                      # a duplicate edge
    usage = Usage()
    wb = await maker.build(section(g), usage)
    assert not wb.fallback and wb.graph is not None
    assert fake.requests == [] and usage.calls == 0             # no repair call
    assert wb.graph["edges"][0]["label"] == "fetch robots.txt and then the page HTML…"
    assert len(wb.graph["edges"]) == len(g["edges"]) - 1
    assert "```text" in wb.markdown and "politely" in wb.markdown


async def test_what_cannot_be_repaired_still_gets_one_repair_call(fake, maker):
    g = json.loads((GOLDEN / "url_shortener.json").read_text())
    g["edges"][0]["target"] = "nowhere"
    fixed = json.loads((GOLDEN / "url_shortener.json").read_text())
    fake.replies.append(Reply(tool_input=fixed))
    wb = await maker.build(section(g), Usage())
    assert len(fake.requests) == 1 and wb.graph is not None and not wb.fallback
    sent = json.dumps(fake.requests[0])
    assert "points to unknown node" in sent
