"""Bounded context: token estimates, fold plans, and a 300-turn discussion under the budget."""
from __future__ import annotations

import pytest

from bot.context import (
    FoldOutcome,
    apply_fold,
    context_turns,
    conversation_text,
    design_prefix_len,
    estimate_tokens,
    fold_plan,
    summary_turns,
    turns_tokens,
)
from bot.llm import LLM, build_messages
from bot.state import Turn
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import FakeAnthropic

DISCUSS_PROMPT = "Task: discussion.\n" + "Instructions for the candidate. " * 30   # ~1 KB, like prompts/discuss.txt


def design_history() -> list[Turn]:
    return [Turn(role="user", content="Task: clarifying questions.\nDesign a URL shortener"),
            Turn(role="assistant", content="So... <<<questions>>>\n1. Scale?\n2. Features?"),
            Turn(role="user", content="Task: present the design.\nAnswers: 100M links"),
            Turn(role="assistant", content="<<<section:scope>>>\n" + "The design. " * 300)]


def discussion(n: int, reply_chars: int = 800) -> list[Turn]:
    out = []
    for i in range(n):
        out += [Turn(role="user", content=f"{DISCUSS_PROMPT}\nMessage {i}: why Redis?"),
                Turn(role="assistant", content=f"Reply {i}. " + "x" * reply_chars)]
    return out


def test_estimates_are_rough_but_monotonic():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcdefg" * 100) == 200
    assert estimate_tokens("设计一个短链接服务") == 9
    assert estimate_tokens("ab设计") == 1 + 2
    assert turns_tokens([Turn(role="user", content="abcdefg")]) == 2 + 4


def test_the_design_prefix_ends_after_the_last_design_reply():
    history = design_history() + discussion(3)
    assert design_prefix_len(history) == 4
    assert design_prefix_len(history[:2]) == 0
    finish = history[:4] + [Turn(role="user", content="Task: finish the design.\n..."),
                            Turn(role="assistant", content="<<<section:closing>>>\nBye")] + discussion(1)
    assert design_prefix_len(finish) == 6


def test_within_the_budget_nothing_is_folded():
    history = design_history() + discussion(2)
    plan = fold_plan(history, budget=40_000)
    assert plan.outcome is FoldOutcome.NOT_NEEDED and plan.count == 0
    assert apply_fold(history, plan) == history


def test_the_oldest_discussion_pairs_are_folded_to_the_low_water_mark():
    history = design_history() + discussion(40)
    budget = 12_000
    assert turns_tokens(history) > budget
    plan = fold_plan(history, budget=budget, keep_last=6, fixed_tokens=1_500)
    assert plan.outcome is FoldOutcome.FOLD
    assert plan.start == 4 and plan.count % 2 == 0 and plan.end <= len(history) - 6
    assert plan.tokens_after <= budget * 0.6 < plan.tokens_now
    kept = apply_fold(history, plan)
    assert kept[:4] == history[:4] and kept[-6:] == history[-6:]
    assert len(kept) == len(history) - plan.count


def test_odd_keep_last_keeps_whole_pairs():
    history = design_history() + discussion(40)
    plan = fold_plan(history, budget=1_000, keep_last=3)   # folds as far as it may
    assert plan.end == len(history) - 4


def test_when_only_kept_turns_are_left_it_says_so():
    history = design_history() + discussion(3)
    plan = fold_plan(history, budget=100, keep_last=6)
    assert plan.outcome is FoldOutcome.NOTHING_TO_FOLD and plan.tokens_now > 100


def test_the_summary_goes_after_the_design_and_roles_alternate():
    history = design_history() + discussion(20)
    plan = fold_plan(history, budget=8_000)
    kept = apply_fold(history, plan)
    turns = context_turns(kept, "**Decisions**\n- Redis for hot codes", graph={"nodes": [], "edges": []})
    assert turns[:4] == history[:4]
    assert turns[4].role == "user" and "Redis for hot codes" in turns[4].content and '"nodes": []' in turns[4].content
    assert [t.role for t in turns] == ["user", "assistant"] * (len(turns) // 2)
    assert context_turns(kept, "") == kept


def test_the_cached_design_prefix_is_unchanged_by_a_fold():
    history = design_history() + discussion(30)
    before = build_messages(context_turns(history, ""))
    plan = fold_plan(history, budget=8_000)
    after = build_messages(context_turns(apply_fold(history, plan), "summary"))
    strip = [{**m, "content": [{k: v for k, v in b.items() if k != "cache_control"} for b in m["content"]]}
             for m in before[:4]]
    strip_after = [{**m, "content": [{k: v for k, v in b.items() if k != "cache_control"} for b in m["content"]]}
                   for m in after[:4]]
    assert strip == strip_after


def test_conversation_text_names_who_said_what():
    text = conversation_text(discussion(1))
    assert text.index("[Interviewer side") < text.index("[You (candidate)]") and "Message 0" in text


@pytest.mark.parametrize("budget", [40_000, 15_000])
def test_a_300_turn_discussion_stays_under_the_budget(budget):
    system_tokens = 1_200
    history, summary, folds, peak = design_history(), "", 0, 0
    for i in range(300):
        ask = Turn(role="user", content=f"{DISCUSS_PROMPT}\nMessage {i}: and what about hot keys?")
        fixed = system_tokens + turns_tokens([ask])
        plan = fold_plan(history, budget, keep_last=6, summary=summary, fixed_tokens=fixed)
        if plan.outcome is FoldOutcome.FOLD:
            folded = history[plan.start:plan.end]
            # A summarizer with a bounded output: the running summary never passes ~2,000 characters.
            summary = (summary + f"\n- folded {len(folded)} turns up to message {i}")[-2_000:]
            history = apply_fold(history, plan)
            folds += 1
        sent = context_turns(history, summary) + [ask]
        tokens = system_tokens + turns_tokens(sent)
        peak = max(peak, tokens)
        assert tokens <= budget, f"turn {i}: {tokens} tokens"
        history += [ask, Turn(role="assistant", content=f"Reply {i}. " + "y" * 900)]
    assert peak > budget * 0.6          # the budget was actually reached
    assert folds <= 300 // 8            # folds are rare: most turns read the whole prefix from cache
    assert summary.strip() in summary_turns(summary)[0].content


def test_the_pin_marks_the_end_of_the_design():
    history = design_history() + discussion(3)
    msgs = build_messages(history + [Turn(role="user", content="next")], pin=4)
    marked = [i for i, m in enumerate(msgs) if "cache_control" in m["content"][-1]]
    assert marked == [3, 8, 10]
    assert [i for i, m in enumerate(build_messages(history, pin=None)) if "cache_control" in m["content"][-1]] == [6, 8]


async def read_after_fold(pin: int | None) -> int:
    """Cache-read tokens of the first call after a fold, with or without the design pinned."""
    system = "You are the candidate. " * 60
    history = design_history() + discussion(30)
    async with FakeAnthropic() as fake:
        llm = LLM(make_settings(fake.base_url))
        try:
            await llm.complete(system, history + [Turn(role="user", content="Task: discussion.\nFirst")],
                               cache_pin=pin)
            plan = fold_plan(history, budget=8_000)
            kept = apply_fold(history, plan)
            turns = context_turns(kept, "**Decisions**\n- Redis") + [Turn(role="user", content="Task: discussion.\nNext")]
            after = await llm.complete(system, turns, cache_pin=pin)
        finally:
            await llm.close()
    return after.usage.cache_read_tokens


async def test_after_a_fold_the_pinned_design_is_still_read_from_cache():
    unpinned, pinned = await read_after_fold(None), await read_after_fold(4)
    design_chars = sum(len(t.content) for t in design_history())
    assert unpinned < 400                              # only the system prompt survives the fold
    assert pinned - unpinned >= design_chars / 4       # the whole design is read from cache too
