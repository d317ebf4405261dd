"""The `draw_diagram` tool schema the model fills in (kept in step with the models by a test)."""
from __future__ import annotations

from .model import MAX_EDGES, MAX_NODES, NodeKind

GRAPH_TOOL: dict = {
    "name": "draw_diagram",
    "description": (
        "Draw the architecture as a box-and-arrow diagram. Give the components as nodes "
        "(short labels, a kind each) and the calls or data flows between them as edges. "
        "The bot lays it out and draws it; do not draw ASCII art yourself."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Short diagram title."},
            "nodes": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_NODES,
                "description": "Components, 4-15 of them.",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "Unique short id, e.g. 'api'."},
                        "label": {"type": "string", "description": "Short label, at most ~18 characters."},
                        "kind": {"type": "string", "enum": [k.value for k in NodeKind],
                                 "description": "gateway = gateway or load balancer; queue = queue or stream; "
                                                "storage = blob/object store; external = third-party system."},
                        "group": {"type": ["string", "null"], "description": "Optional tier or zone name."},
                        "bottleneck": {"type": "boolean", "description": "True if this is a likely bottleneck."},
                        "scaling": {"type": "boolean", "description": "True if this is where we scale out."},
                    },
                    "required": ["id", "label", "kind"],
                    "additionalProperties": False,
                },
            },
            "edges": {
                "type": "array",
                "maxItems": MAX_EDGES,
                "description": "Calls or data flows between node ids.",
                "items": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string", "description": "id of the calling / sending node"},
                        "target": {"type": "string", "description": "id of the called / receiving node"},
                        "label": {"type": "string", "description": "The call or data, e.g. 'POST /urls'."},
                        "style": {"type": "string", "enum": ["sync", "async"],
                                  "description": "sync = request/response; async = message, event or job."},
                    },
                    "required": ["source", "target"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["nodes", "edges"],
        "additionalProperties": False,
    },
}
