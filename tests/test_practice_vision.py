"""An image turn reaches both model providers in their own vision format (real SDKs, local fakes)."""
from __future__ import annotations

import base64

from bot.llm import LLM
from bot.llm_openai import OpenAILLM
from bot.state import ImagePart, Turn
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_openai import FakeOpenAI
from tests.test_llm_openai import openai_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 32
TURNS = [Turn(role="user", content="Here is my whiteboard.", images=[ImagePart(media_type="image/png", data=PNG)])]


async def test_anthropic_gets_an_image_block_before_the_text():
    async with FakeAnthropic() as fake:
        llm = LLM(make_settings(fake.base_url))
        await llm.complete("system", TURNS)
        await llm.close()
    content = fake.requests[-1]["messages"][0]["content"]
    assert [b["type"] for b in content] == ["image", "text"]
    assert content[0]["source"] == {"type": "base64", "media_type": "image/png",
                                    "data": base64.b64encode(PNG).decode()}


async def test_openai_gets_an_image_url_part_with_a_data_url():
    async with FakeOpenAI(api_key="test-key") as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        await llm.complete("system", TURNS)
        await llm.close()
    content = fake.requests[-1]["messages"][1]["content"]
    assert content[0] == {"type": "text", "text": "Here is my whiteboard."}
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_images_are_never_stored_with_the_history():
    assert "images" not in TURNS[0].model_dump_json()
