"""Golden snapshots of six classic designs. Regenerate with UPDATE_GOLDEN=1 (then review the diff)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.diagram import parse_graph, render_text
from tests.test_diagram_render import check_picture

GOLDEN = Path(__file__).parent / "golden" / "diagrams"
DESIGNS = ["url_shortener", "rate_limiter", "chat", "news_feed", "ride_sharing", "web_crawler"]
MODES = [(60, False, "60"), (42, False, "42"), (42, True, "42.ascii")]


def snapshot(name: str, width: int, ascii_only: bool) -> str:
    out = render_text(parse_graph((GOLDEN / f"{name}.json").read_text()), width=width, ascii_only=ascii_only)
    return out.text + "\n\n" + out.legend + "\n"


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("width,ascii_only,suffix", MODES)
def test_golden(name, width, ascii_only, suffix):
    got = snapshot(name, width, ascii_only)
    path = GOLDEN / f"{name}.{suffix}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing {path.name}: run with UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("width", [42, 60])
def test_golden_pictures_are_sound(name, width):
    g = parse_graph((GOLDEN / f"{name}.json").read_text())
    assert 4 <= len(g.nodes) <= 15
    check_picture(g, width)
