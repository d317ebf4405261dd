"""Practice history: writing a finished interview's record, and answering `/history`."""
from __future__ import annotations

import logging

from ..history import record_from, render_history
from ..inbound import Inbound, Receipt, ReceiptKind
from ..levels import Level
from ..rubric import Rubric
from ..scorecard import Scorecard
from ..store import StoreUnavailable
from ..store.history import HistoryStore
from . import texts

log = logging.getLogger(__name__)


async def record_interview(history: HistoryStore, ctx, scorecard: Scorecard, *, ended_at: float) -> None:
    """Keep the interview in the candidate's history (one record per thread, so a retried end writes it once)."""
    state = ctx.state
    p = state.practice
    assert p is not None and p.clock is not None
    record = record_from(scorecard, user_id=p.candidate_id, problem=state.problem, started_at=p.clock.started_at,
                         ended_at=ended_at, target=Level(state.level), card_id=state.card_id, hints_used=p.hints,
                         thread_url=p.thread_url)
    try:
        await history.add(state.ref.platform, state.ref.workspace, p.candidate_id, state.ref.thread, record)
        p.recorded = True
    except StoreUnavailable as exc:
        log.error("%s: practice history not written: %s", ctx.key, exc)


async def history_receipt(history: HistoryStore, event: Inbound, rubric: Rubric, *, now: float,
                          visible_to_group: bool) -> Receipt:
    """`/history [@someone]`: the list, privately; only one's own unless the group may see everyone's."""
    me = event.author_id or event.author
    target = event.text.strip()
    if target.startswith("@") or (target and not target.replace("-", "").replace("_", "").isalnum()):
        return Receipt(kind=ReceiptKind.INFO, text=texts.history_who_unclear())
    target = target or me
    if target != me and not visible_to_group:
        return Receipt(kind=ReceiptKind.INFO, text=texts.history_not_yours())
    try:
        records = await history.records(event.ref.platform, event.ref.workspace, target, now)
    except StoreUnavailable as exc:
        log.error("history for %s:%s not read: %s", event.ref.platform, event.ref.workspace, exc)
        return Receipt(kind=ReceiptKind.INFO, text=texts.history_unavailable())
    who = "your" if target == me else "their"
    return Receipt(kind=ReceiptKind.INFO, text=render_history(records, rubric, who=who, now=now,
                                                               keep_days=history.keep_days))
