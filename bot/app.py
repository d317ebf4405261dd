"""Wiring: settings -> store, model client, prompts -> engine.

Adapters call `build_engine` so that every platform runs the same core the
same way; a new platform never wires these parts itself.
"""
from __future__ import annotations

import logging
import shutil

from .config import Settings
from .engine import Engine
from .llm import LLM
from .prompts import Prompts
from .store import make_store

log = logging.getLogger(__name__)


def build_engine(settings: Settings, *, llm: LLM | None = None, store=None) -> Engine:
    png = shutil.which("dot") is not None
    if not png:
        log.info("Graphviz 'dot' not found: diagrams are posted as text only")
    return Engine(settings, store or make_store(settings), llm or LLM(settings), Prompts(settings.prompts_dir), png=png)


async def close_engine(engine: Engine) -> None:
    """Finish or checkpoint running turns within SHUTDOWN_GRACE, release leases, close clients."""
    await engine.shutdown()
    await engine.store.close()
    await engine.llm.close()


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP client logs request lines at INFO; keep them out of normal output.
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "anthropic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
