"""The candidate's diagram in practice mode: images checked by their bytes, graph and text blocks found."""
from __future__ import annotations

import base64
import json

import pytest

from bot.candidate_diagram import (
    MAX_IMAGE_BYTES,
    DiagramKind,
    ImageOutcome,
    check_image,
    find_candidate_diagram,
    image_block,
    sniff_media_type,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
GRAPH = {"title": "Shortener", "nodes": [
    {"id": "user", "label": "User", "kind": "client"},
    {"id": "api", "label": "URL API", "kind": "service"},
    {"id": "db", "label": "URL DB", "kind": "database"}],
    "edges": [{"source": "user", "target": "api", "label": "POST /urls", "style": "sync"},
              {"source": "api", "target": "db", "label": "insert", "style": "sync"}]}


@pytest.mark.parametrize("data, media_type", [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (b"GIF89a" + b"\x00" * 10, "image/gif"), (WEBP, "image/webp"),
    (b"%PDF-1.7 not an image", None), (b"RIFF\x00\x00\x00\x00WAVE", None), (b"", None),
])
def test_sniff_media_type(data, media_type):
    assert sniff_media_type(data) == media_type


def test_check_image_outcomes_and_messages():
    ok = check_image(JPEG, filename="board.png")
    assert ok.outcome is ImageOutcome.OK and ok.media_type == "image/jpeg" and ok.message == ""
    big = check_image(PNG + b"\x00" * MAX_IMAGE_BYTES, filename="photo.png")
    assert big.outcome is ImageOutcome.TOO_BIG and big.message.startswith("photo.png is 5.0 MB; I can read images up to 5.0 MB")
    small_limit = check_image(PNG, filename="a.png", max_bytes=10)
    assert small_limit.outcome is ImageOutcome.TOO_BIG and "up to 1 KB" in small_limit.message
    wrong = check_image(b"%PDF-1.7", filename="design.pdf")
    assert wrong.outcome is ImageOutcome.WRONG_TYPE and "can't read design.pdf" in wrong.message
    assert "paste the diagram as text" in wrong.message
    assert check_image(b"").outcome is ImageOutcome.EMPTY


def test_image_block_is_a_base64_content_block():
    block = image_block(PNG, "image/png")
    assert block["type"] == "image"
    source = block["source"]
    assert isinstance(source, dict) and source["media_type"] == "image/png"
    assert base64.b64decode(source["data"]) == PNG
    with pytest.raises(ValueError, match="unsupported image type"):
        image_block(b"x", "application/pdf")


def test_a_graph_block_is_parsed_and_wins_over_other_blocks():
    text = f"Here's mine:\n```\nuser -> api -> db\n```\nand as a graph:\n```graph\n{json.dumps(GRAPH)}\n```"
    found = find_candidate_diagram(text)
    assert found.kind is DiagramKind.GRAPH and found.graph is not None
    assert [n.id for n in found.graph.nodes] == ["user", "api", "db"]


def test_a_broken_graph_says_why():
    found = find_candidate_diagram('```graph\n{"nodes": [}\n```')
    assert found.kind is DiagramKind.BAD_GRAPH and found.graph is None and "not valid JSON" in found.problem


def test_other_code_blocks_are_text_diagrams_and_prose_is_none():
    found = find_candidate_diagram("Sketch:\n```text\n[client] --> [api] --> (db)\n```")
    assert found.kind is DiagramKind.TEXT and found.body == "[client] --> [api] --> (db)"
    assert find_candidate_diagram("I'd put a cache in front of the DB.").kind is DiagramKind.NONE
    assert find_candidate_diagram("```\n\n```").kind is DiagramKind.NONE
    assert find_candidate_diagram("").kind is DiagramKind.NONE
