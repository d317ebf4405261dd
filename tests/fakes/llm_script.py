"""A scripted "model" for the fake Anthropic server.

It reads the task line our prompts start with ("Task: ...") and answers the
way a well-behaved model would, in our output format.  Tests that need bad
behaviour queue explicit `Reply`s in front of it.
"""
from __future__ import annotations

import json
import re

from bot.framing import read_blocks
from tests.fakes.fake_anthropic import Reply

URL_GRAPH = {
    "title": "URL shortener",
    "nodes": [
        {"id": "client", "label": "Client", "kind": "client"},
        {"id": "lb", "label": "Load Balancer", "kind": "gateway", "scaling": True},
        {"id": "api", "label": "URL Service", "kind": "service", "scaling": True},
        {"id": "gen", "label": "Code Generator", "kind": "service"},
        {"id": "cache", "label": "Redis Cache", "kind": "cache"},
        {"id": "db", "label": "URL Store", "kind": "database", "bottleneck": True},
        {"id": "q", "label": "Click Events", "kind": "queue"},
        {"id": "stats", "label": "Analytics Worker", "kind": "worker"},
    ],
    "edges": [
        {"source": "client", "target": "lb", "label": "HTTPS"},
        {"source": "lb", "target": "api", "label": "route"},
        {"source": "api", "target": "gen", "label": "new code"},
        {"source": "api", "target": "cache", "label": "GET code"},
        {"source": "api", "target": "db", "label": "read/write"},
        {"source": "api", "target": "q", "label": "click", "style": "async"},
        {"source": "q", "target": "stats", "label": "consume", "style": "async"},
    ],
}

SECTION_BODIES = {
    "scope": "Alright, so we're building a URL shortener: paste a monster link, get a tiny one back. "
             "The 30,000-foot view: a stateless API in front of a key-value store, with a cache doing the heavy lifting.",
    "functional": "- Shorten a long URL into a unique code (Code Generator)\n"
                  "- Redirect a code to its URL fast (URL Service)\n"
                  "- Count clicks per link (Analytics Worker)",
    "non_functional": "- 99.9% availability for redirects\n- p99 redirect under 50 ms\n- 100:1 read/write ratio",
    "api": "- **Create link**: POST /urls with the long URL; returns the code; 400 on a bad URL.\n"
           "- **Redirect**: GET /{code}; 301 to the target, 404 if unknown.",
    "high_level": "Requests hit a load balancer, then a stateless URL Service. "
                  "**Cache**: Redis, because redirects are read-heavy (considered Memcached; tradeoff: memory cost; serves the latency goal).",
    "diagram": "```graph\n" + json.dumps(URL_GRAPH, indent=1) + "\n```\n"
               "As you can see in the diagram, the system consists of a load balancer, the URL Service, "
               "a cache and a store. A redirect flows from the client through the balancer to the service, "
               "which checks the cache before the store.",
    "deep_dive": "**Code Generator**\nIt hands out base62 codes from pre-allocated ranges so two servers never collide.",
    "scaling": "**Scaling**: add service replicas; shard the store by code.\n"
               "**Failures**: a cache node dies, redirects fall through to the store.\n"
               "**Security**: rate limit link creation, scan targets for malware.",
    "assumptions": "**Assumptions**\n- 100M new links a month\n**Simplifications**\n- No custom aliases",
    "closing": "That's my design! Push on anything: a new requirement, or say *describe the diagram*.",
}

DIAGRAM_ONLY_BODIES = {
    "diagram": SECTION_BODIES["diagram"].split("As you can see")[0] + "Here's the whole flow on one board.",
    "walkthrough": "As you can see in the diagram, a user's click enters at the load balancer and lands on the URL "
                   "Service, which reads the cache first. The store is the bottleneck; the service scales out.",
}


def last_user_text(request: dict) -> str:
    for msg in reversed(request.get("messages", [])):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def sections_text(bodies: dict[str, str], only: list[str] | None = None) -> str:
    return "\n".join(f"<<<section:{sid}>>>\n{body}" for sid, body in bodies.items() if only is None or sid in only)


SUMMARY = ("**Requirements**\n- 100M new links a month; p99 redirect under 50 ms\n- Rate limiting per user (added)\n"
           "**Decisions**\n- Redis cache in front of the URL store: reads dominate 100:1\n"
           "- Token buckets in Redis for the rate limiter, checked behind the load balancer\n"
           "**Diagram changes**\n- new node rl (Rate Limiter) between lb and api\n"
           "**Discussed**\n- Cache node loss: redirects fall through to the store, which absorbs 3x for minutes\n"
           "- Sharding the store by code hash, 64 shards to start\n"
           "**Open**\n- Custom aliases were left out on purpose")

DESIGN_TITLES = {
    "scope": "Problem and scope", "functional": "Functional requirements",
    "non_functional": "Non-functional requirements", "api": "API design", "high_level": "High-level architecture",
    "diagram": "Architecture diagram", "deep_dive": "Deep dive: the code generator",
    "scaling": "Scaling, failures and security", "assumptions": "Assumptions and simplifications",
    "closing": "Over to you",
}
DRIFT_STYLES = ("markers", "headings", "bold", "numbered", "no_titles", "duplicated")


def design_text(style: str, bodies: dict[str, str] | None = None) -> str:
    """The whole design the way a drifting model might write it.

    markers: our contract; headings: `## Title`; bold: `**Title**` lines; numbered: `3. Title`;
    no_titles: the bodies one after another; duplicated: `##` headings, then three sections again.
    """
    bodies = SECTION_BODIES if bodies is None else bodies
    if style == "markers":
        return "Great, thanks!\n" + sections_text(bodies)
    if style == "no_titles":
        return "\n\n".join(bodies.values())
    title = {"headings": "## {t}", "duplicated": "## {t}", "bold": "**{t}**", "numbered": "{n}. {t}"}[style]
    parts = [title.format(n=n, t=DESIGN_TITLES.get(sid, sid)) + "\n" + body
             for n, (sid, body) in enumerate(bodies.items(), 1)]
    if style == "duplicated":
        parts += parts[1:3] + parts[5:6]
    return "# The design\nGreat, thanks! Here we go.\n\n" + "\n\n".join(parts)


def cut_reply(text: str, at: int) -> Reply:
    """A reply that ran out of tokens after `at` characters (what the model would have written is `text`)."""
    return Reply(text=text[:at], stop_reason="max_tokens")


def refusal_reply(text: str = "") -> Reply:
    """A reply the model stopped on purpose (`stop_reason: refusal`), after `text` if any."""
    return Reply(text=text, stop_reason="refusal") if text else Reply(fault="empty", stop_reason="refusal")


def questions_reply(n: int = 3) -> str:
    qs = [
        "How many new links per month, and how many redirects per second at peak?",
        "Do we need custom aliases and expiry, or just plain short links?",
        "How fast must a redirect be, and is eventual consistency fine for new links?",
        "Do we need analytics?",
        "Any compliance needs?",
    ][:n]
    body = "\n".join(f"{i}. {q}" for i, q in enumerate(qs, 1))
    return ("Okay, so picture this: someone pastes a monstrous link and gets back a tiny one that "
            f"redirects in a blink.\n<<<questions>>>\n{body}")


DEEP_DIVE_OPTIONS = ("<<<options>>>\n1. **Code Generator**: where uniqueness and guessability are decided.\n"
                     "2. Redirect cache: the hot path at 200k reads a second.\n"
                     "3. Click counting: the write amplification hides here.\n"
                     "Which one shall we dig into? Or name another part.")
CHECK_IN_QUESTION = "Does this scope match what you had in mind? If so, I'll sketch the API next."


def asked_sections(prompt: str) -> list[str]:
    """The section ids a design prompt lists (its `<<<section:id>>>` lines), in order."""
    return re.findall(r"^<<<section:([a-z_]+)>>>$", prompt, re.MULTILINE)


def interactive_step_text(prompt: str) -> str:
    """A design reply for the sections the prompt asks for (all of them, or one interactive step),
    with the check-in question or the deep-dive options when the prompt asks to stop for them."""
    ids = asked_sections(prompt) or list(SECTION_BODIES)
    text = ("Great, thanks!\n" if "scope" in ids else "") + sections_text(SECTION_BODIES, ids)
    if "<<<options>>>" in prompt:
        text += "\n" + DEEP_DIVE_OPTIONS
    elif "check-in" in prompt and ids[-1] == "non_functional":
        text += "\n" + CHECK_IN_QUESTION
    return text


def interview_responder(request: dict) -> Reply:
    """Answer like a model that follows our prompts."""
    text = last_user_text(request)
    if "Task: clarifying questions, again." in text:
        return Reply(text=questions_reply(2))
    if "Task: clarifying questions." in text:
        return Reply(text=questions_reply(3))
    if "Task: finish the design." in text:
        missing = re.search(r"missing these sections: ([a-z_, ]+)\.", text)
        ids = [s.strip() for s in missing.group(1).split(",")] if missing else []
        bodies = DIAGRAM_ONLY_BODIES if set(ids) <= set(DIAGRAM_ONLY_BODIES) else SECTION_BODIES
        return Reply(text=sections_text(bodies, ids))
    if "Task: present the design." in text or "Task: continue the design." in text:
        return Reply(text=interactive_step_text(text))
    if "Task: interview-ready flow diagram." in text:
        return Reply(text=sections_text(DIAGRAM_ONLY_BODIES))
    if "Task: fix the diagram JSON." in text:
        return Reply(tool_input=URL_GRAPH)
    if "Task: draw the diagram as text." in text:
        return Reply(text="```\n+--------+     +-----+\n| Client | --> | API |\n+--------+     +-----+\n```\nLegend: boxes are services.")
    if "Task: summarize the earlier discussion." in text:
        return Reply(text=SUMMARY)
    if "Task: discussion." in text:
        message = next((b.text for b in read_blocks(text) if b.kind == "message"), text)
        if re.search(r"\b(add|require|need|support)\b", message, re.IGNORECASE):
            graph = json.loads(json.dumps(URL_GRAPH))
            graph["nodes"].append({"id": "rl", "label": "Rate Limiter", "kind": "service"})
            graph["edges"].insert(1, {"source": "lb", "target": "rl", "label": "check quota"})
            return Reply(text="Good call. I'd put a Rate Limiter right behind the load balancer, with token "
                              "buckets in Redis.\n<<<changes>>>\n- new: Rate Limiter behind the load balancer\n"
                              "```graph\n" + json.dumps(graph) + "\n```")
        return Reply(text="Sure! As you can see in the diagram, a request enters at the load balancer, "
                          "the URL Service checks the cache, and only misses go to the store.")
    return Reply(text="ok")
