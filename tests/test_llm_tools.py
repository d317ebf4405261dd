"""Structured output helpers: tool conversion and JSON read back from model text."""
from __future__ import annotations

from bot.diagram.model import GRAPH_TOOL
from bot.llm_tools import arguments_object, extract_json_object, json_instruction, openai_tool


def test_graph_tool_converts_to_a_function_tool():
    fn = openai_tool(GRAPH_TOOL)
    assert fn["type"] == "function" and fn["function"]["name"] == "draw_diagram"
    assert fn["function"]["parameters"] is GRAPH_TOOL["input_schema"]


def test_instruction_names_the_tool_and_carries_the_schema():
    text = json_instruction(GRAPH_TOOL)
    assert "`draw_diagram`" in text and "```json" in text and '"nodes"' in text


def test_json_block_preferred_over_other_blocks_and_prose():
    text = 'Here {"not": "this"}\n```\n{"other": 1}\n```\nand\n```json\n{"nodes": [1]}\n```'
    assert extract_json_object(text) == {"nodes": [1]}


def test_unlabelled_block_then_bare_json_then_nothing():
    assert extract_json_object('```\n{"a": {"b": [1, 2]}}\n```') == {"a": {"b": [1, 2]}}
    assert extract_json_object('I think {"nodes": [], "edges": []} works. {"x": 2}') == {"nodes": [], "edges": []}
    assert extract_json_object("```json\n[1, 2]\n```") is None
    assert extract_json_object("no json at all { broken") is None


def test_json_block_with_trailing_prose_inside():
    assert extract_json_object('```json\n{"a": 1}\nThat is the graph.\n```') == {"a": 1}


def test_arguments_object():
    assert arguments_object('{"a": 1}') == {"a": 1}
    assert arguments_object("") == {}
    assert arguments_object("[1]") is None
    assert arguments_object('```json\n{"a": 2}\n```') == {"a": 2}
