"""What a long interview costs in model input: tokens per call, cache reads, stored size.

The real engine and the real anthropic SDK talk to the fake model server
(`tests/fakes/fake_anthropic.py`), which emulates prompt caching: a request
prefix up to a `cache_control` breakpoint it has seen before is reported as
`cache_read_input_tokens`, like the real API (minimum cacheable prefix
`--min-cache` tokens; ~4 characters a token).  One interview: questions,
answers, design, then `--turns` discussion messages.

    .venv/bin/python bench/tokens.py [--turns 200] [--min-cache 1024] [--fold 40000 [--keep 6]]

Figures: input tokens of the call at discussion turns 1, 10, 50, 200 (all
input: uncached + cache read + cache write), the share read from cache,
model calls for the questions and the design, and the size of the stored
interview document at the last turn.  `--fold BUDGET` runs the discussion the
way `bot.context` is meant to be wired (fold past the budget, design pinned in
the cache) to show what wiring it will change.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_engine
from bot.config import Settings
from bot.state import ThreadRef, Usage
from bot.store import MemoryStore
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.llm_script import interview_responder
from tests.fakes.platform import press, reply, start  # noqa: E402,F401
from tests.fakes.sinks import RecordingSink

MESSAGES = ["Why Redis and not Memcached?", "describe the diagram", "What happens when a cache node dies?",
            "How would you shard the URL store?", "What breaks first at 10x traffic?"]
REPORT_AT = (1, 10, 50, 100, 200, 300)


def delta(before: Usage, after: Usage) -> Usage:
    return Usage(**{k: getattr(after, k) - getattr(before, k) for k in Usage.model_fields})


def all_input(u: Usage) -> int:
    return u.input_tokens + u.cache_read_tokens + u.cache_write_tokens


REF = ThreadRef(platform="test", workspace="W", channel="C", thread="tokens")


async def run(turns: int, min_cache: int, fold_budget: int | None, keep: int) -> dict:
    async with FakeAnthropic(responder=interview_responder, min_cache_tokens=min_cache) as fake:
        budget = {"context_budget_tokens": fold_budget, "context_keep_turns": keep} if fold_budget else {}
        settings = Settings(_env_file=None, anthropic_api_key="bench", anthropic_base_url=fake.base_url,
                            redis_url=None, interviewer_cards=False, **budget)
        store = MemoryStore()
        engine = build_engine(settings, store=store)
        engine.whiteboard.png = False
        sink = RecordingSink()
        try:
            await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)
            await reply(engine, REF, "About 100M links a month, p99 50 ms", user="ana", sink=sink)
            state = await store.load(REF.key(store.prefix))
            setup_calls = state.usage.calls
            t0 = time.perf_counter()
            per_turn, state = await discuss_with_engine(engine, store, state, turns, sink)
            folds = sum(1 for u in per_turn if u.calls > 1)   # a turn that folded made a summary call too
            elapsed = time.perf_counter() - t0
            doc = state.model_dump_json()
        finally:
            await engine.llm.close()
    after_first = per_turn[1:] or per_turn
    read = sum(u.cache_read_tokens for u in after_first)
    return {"setup_calls": setup_calls, "per_turn": per_turn, "doc_bytes": len(doc.encode()),
            "cache_read_share": read / max(1, sum(all_input(u) for u in after_first)), "elapsed": elapsed,
            "calls": sum(u.calls for u in per_turn), "folds": folds}


async def discuss_with_engine(engine, store, state, turns: int, sink) -> tuple[list[Usage], object]:
    """Discussion turns through the engine (which stores them as data and folds past its budget)."""
    per_turn: list[Usage] = []
    for i in range(turns):
        before = state.usage.model_copy()
        await reply(engine, REF, MESSAGES[i % len(MESSAGES)], user="ben", sink=sink)
        state = await store.load(REF.key(store.prefix))
        per_turn.append(delta(before, state.usage))
        sink.clear()
    return per_turn, state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--min-cache", type=int, default=1024)
    ap.add_argument("--fold", type=int, metavar="BUDGET", default=None,
                    help="CONTEXT_BUDGET_TOKENS for this run (default: the setting's default, 40000)")
    ap.add_argument("--keep", type=int, default=6, help="turns kept verbatim when folding")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(run(args.turns, args.min_cache, args.fold, args.keep))
    how = f"folding at {args.fold:,} tokens (bot.context), {r['folds']} folds" if args.fold else "engine as it is"
    print(f"model calls for questions + design: {r['setup_calls']}")
    print(f"discussion ({how}): {args.turns} turns, {r['calls']} model calls, {r['elapsed']:.1f} s")
    print("turn  input tokens  of which cache read  cache write  uncached")
    for t in REPORT_AT:
        if t <= len(r["per_turn"]):
            u = r["per_turn"][t - 1]
            print(f"{t:>4}  {all_input(u):>12,}  {u.cache_read_tokens:>19,}  {u.cache_write_tokens:>11,}  "
                  f"{u.input_tokens:>8,}")
    peak = max(r["per_turn"], key=all_input)
    print(f"largest turn: {all_input(peak):,} input tokens (turn {r['per_turn'].index(peak) + 1}; "
          "a fold turn counts its summary call)")
    print(f"cache-read share of input after the first discussion call: {r['cache_read_share']:.1%}")
    print(f"stored interview document at turn {args.turns}: {r['doc_bytes'] / 1024:,.1f} KiB")


if __name__ == "__main__":
    main()
