"""A scripted interviewer model for practice mode (the bot interviews a person), for the fake Anthropic server.

It answers the way a well-behaved model would: the opening, clarifying answers taken from the card in its
system prompt, probes that quote the candidate, a hint only when the note asks for one, the curveball when
the note says so, a description of an attached image, a hidden card for a free-form problem, and a
scorecard whose evidence is copied from the candidate's framed messages.  Tests queue explicit `Reply`s
in front of it for bad behaviour.
"""
from __future__ import annotations

import json
import re

from bot.framing import read_blocks
from tests.fakes.fake_anthropic import Reply
from tests.fakes.llm_script import interview_responder, last_user_text

WRITTEN_CARD = {
    "subject": "A parking garage booking system", "difficulty": "medium", "category": "marketplace",
    "diagram_ok": True,
    "reference": {"users": "2M drivers, 300k daily active", "read_qps": "about 2,000 searches a second at peak",
                  "write_qps": "about 50 bookings a second", "data": "40 GB of bookings a year",
                  "latency": "search under 200 ms", "availability": "99.9%", "notes": ["5,000 garages"]},
    "in_scope": ["Search free spots", "Book a spot"], "out_of_scope": ["Payments"],
    "follow_ups": ["How do you stop two drivers booking the same spot?", "What if a garage goes offline?",
                   "How do you keep search fresh?"],
    "curveball": "Garages now want dynamic pricing that changes every minute.",
    "strong_answer": ["Pins down the booking race", "Separates search from booking", "Idempotent bookings"],
    "pitfalls": ["Locking the whole garage", "No expiry for held spots"],
}


def system_text(body: dict) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    return "\n".join(b.get("text", "") for b in system or [] if isinstance(b, dict))


def last_user_images(body: dict) -> list[dict]:
    for msg in reversed(body.get("messages", [])):
        if msg.get("role") == "user":
            content = msg.get("content")
            return [b for b in content if isinstance(b, dict) and b.get("type") == "image"] \
                if isinstance(content, list) else []
    return []


def scorecard_reply(text: str) -> str:
    """A valid scorecard quoting the candidate's own framed messages word for word."""
    ids = re.search(r"in this order: ([a-z_, ]+)\.", text)
    signals = [s.strip() for s in ids.group(1).split(",")] if ids else \
        ["problem_navigation", "solution_design", "technical_depth", "communication"]
    said = [b.text for b in read_blocks(text) if b.kind == "message"] or ["(nothing)"]
    quotes = [" ".join(m.split()[:8]) for m in said]
    data = {"signals": [{"signal": s, "score": 2 + i % 2, "evidence": [quotes[i % len(quotes)]],
                         "comment": f"Reasoning for {s}."} for i, s in enumerate(signals)],
            "improvements": ["State the read/write ratio first", "Walk the write path", "Name the partition key"],
            "level_estimate": "mid", "level_reason": "Sound basics, little depth.",
            "summary": "You asked good questions early. Go deeper on failures next time."}
    return json.dumps(data)


def interviewer_reply(body: dict, text: str) -> str:
    system = system_text(body)
    if last_user_images(body):
        return "From your image I understand: clients call an API, which writes to a database. Did I get that right?"
    if "[hint requested]" in text:
        return "Here's a nudge: think about where most of the reads go."
    if "[curveball now]" in text:
        return "Noted. Suppose now that marketing wants exact click counts within a second."
    if "asks to move on to the next phase" in text:
        phase = re.search(r"\[phase: ([^,\]]+)", text)
        return f"Let's move on to the {phase.group(1) if phase else 'next phase'}. Where would you start?"
    if "Open the interview now" in text:
        return "Today we'll design this system together. What would you like to know before you start?"
    message = next((b.text for b in read_blocks(text) if b.kind == "message"), "")
    if re.search(r"how many (users|people)", message, re.I):
        users = re.search(r"^- Users: (.+)$", system, re.M)
        return f"Users: {users.group(1) if users else 'you decide'}. What else?"
    first = " ".join(message.split()[:6])
    return f'You said "{first}". What happens when that component fails?'


def practice_responder(request: dict) -> Reply:
    text = last_user_text(request)
    system = system_text(request)
    if "Task: write the hidden interviewer card" in text:
        return Reply(text=json.dumps(WRITTEN_CARD))
    if "evidence-based scorecard" in text or "Your scorecard could not be used" in text \
            or "does not occur word for word" in text:
        first = next((m for m in request["messages"] if m.get("role") == "user"), {})
        prompt = first.get("content")
        prompt = prompt if isinstance(prompt, str) else "\n".join(b.get("text", "") for b in prompt or [])
        return Reply(text=scorecard_reply(prompt))
    if system.startswith("You are the interviewer"):
        return Reply(text=interviewer_reply(request, text))
    return interview_responder(request)
