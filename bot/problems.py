"""A small bank of classic problems, for groups that want to practise without preparing one.

`/interview random` (or `surprise me`) draws one; the usage help suggests a few.
"""
from __future__ import annotations

import random

INTERVIEW_PROBLEMS = [
    "Design a URL shortener like bit.ly",
    "Design a rate limiter for a public API",
    "Design a chat app like WhatsApp",
    "Design a news feed like Twitter's home timeline",
    "Design a ride-sharing service like Uber",
    "Design a web crawler",
    "Design a notification service (push, email, SMS)",
    "Design a video streaming service like YouTube",
    "Design a file storage and sync service like Dropbox",
    "Design a distributed key-value store",
    "Design a search autocomplete (typeahead) service",
    "Design a hotel booking system",
    "Design a payment system for an online shop",
    "Design a leaderboard for a multiplayer game",
    "Design a distributed job scheduler",
    "Design an online collaborative editor like Google Docs",
    "Design a metrics and alerting system",
    "Design a ticketing system for concerts (flash sales)",
    "Design a proximity service like Yelp",
    "Design a distributed message queue",
]

DIAGRAM_SYSTEMS = [
    "A URL shortener", "A ride-sharing app", "A chat app", "A news feed", "A video streaming platform",
    "A payment system", "A web crawler", "A food delivery app", "An e-commerce checkout", "A notification service",
]

RANDOM_WORDS = {"random", "surprise me", "surprise", "any", "pick one", "you pick", "roll"}


def resolve_problem(text: str | None, *, diagram: bool = False, rng: random.Random | None = None) -> str:
    """The problem to run: the user's text, or a drawn one when they asked for a random problem."""
    text = (text or "").strip()
    if text.lower().rstrip("!.") in RANDOM_WORDS:
        return (rng or random).choice(DIAGRAM_SYSTEMS if diagram else INTERVIEW_PROBLEMS)
    return text


def suggestions(k: int = 3, *, diagram: bool = False, rng: random.Random | None = None) -> list[str]:
    pool = DIAGRAM_SYSTEMS if diagram else INTERVIEW_PROBLEMS
    return (rng or random).sample(pool, k)
