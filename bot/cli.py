"""`interview-bot <platform> [args]`: pick an adapter module by name and run it.

Adapters are found by name (`adapters.<platform>`), so adding a platform means
adding one module in `adapters/` with a `main(argv)` function; nothing here
changes, and the core never imports a platform library.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys

import adapters

USAGE = """usage: interview-bot <platform> [options]

platforms:
  console "<problem>"   run an interview in this terminal (default)
  slack                 run the Slack bot (Socket Mode or HTTP, see README)
  discord               run the Discord bot
"""


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(adapters.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    platform = argv.pop(0) if argv and argv[0] in available() else "console"
    module = importlib.import_module(f"adapters.{platform}")
    return int(module.main(argv) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
