"""Wiring: settings -> store, model client, prompts -> engine.

Adapters call `build_engine` so that every platform runs the same core the
same way; a new platform never wires these parts itself.
"""
from __future__ import annotations

import logging
import shutil

from .budget import make_budget
from .config import Settings
from .engine import Engine
from .llm_factory import make_llm
from .logs import configure_logging
from .metered import MeteredLLM
from .metrics import Metrics, default_metrics
from .prompts import Prompts
from .store import RedisStore, make_store

log = logging.getLogger(__name__)


def build_engine(settings: Settings, *, llm=None, store=None, metrics: Metrics | None = None) -> Engine:
    """The core as every adapter runs it: store, metered model client (Anthropic or OpenAI-compatible),
    prompts, budgets and metrics."""
    png = shutil.which("dot") is not None
    if not png:
        log.info("Graphviz 'dot' not found: diagrams are posted as text only")
    metrics = metrics or default_metrics()
    store = store or make_store(settings)
    model = MeteredLLM(llm or make_llm(settings), metrics)
    budget = make_budget(settings, store.client if isinstance(store, RedisStore) else None)
    return Engine(settings, store, model, Prompts(settings.prompts_dir), png=png, metrics=metrics, budget=budget)


async def close_engine(engine: Engine) -> None:
    """Finish or checkpoint running turns within SHUTDOWN_GRACE, release leases, close clients."""
    await engine.shutdown()
    await engine.store.close()
    await engine.llm.close()


def setup_logging(settings: Settings, level: str | None = None) -> None:
    """Text or JSON lines (LOG_FORMAT) with the thread key; chat text only with LOG_CONTENT; secrets redacted."""
    configure_logging(settings, level=level)
