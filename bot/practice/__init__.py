"""Practice mode: the bot interviews a person, keeps the clock, probes, and scores them on a rubric.

Kept import-light: `bot.state` imports `bot.practice.model`, so this package's `__init__` imports nothing.
The flow lives in `flow.py` (steps), `router.py` (which step a thread event is), `scoring.py` (the
scorecard), `inputs.py` (diagrams and images in a reply), `history_store.py` (the per-person records).
"""
