"""Console adapter: a whole interview in the terminal, on the same core.

Works interactively and with piped stdin, so a script (or a test) can drive
it line by line.  Text streams as the model writes it; the pause after the
clarifying questions is shown plainly, because that is where you type.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from typing import Awaitable, Callable, TextIO

from bot.app import build_engine, close_engine, setup_logging
from bot.config import settings_or_report
from bot.engine import Engine
from bot.inbound import EventKind, Inbound
from bot.messages import ACTION_LABELS, Action, Kind, OutMessage
from bot.state import Mode, ThreadRef
from bot.text_checks import clean_text
from bot.texts import usage_help

CONSOLE_HELP = """Commands:
  /interview <problem>   start a new interview
  /diagram <system>      just a flow diagram with legend and walkthrough
  practice <problem>     practice: the bot interviews you (also `practice random medium`, or /practice)
  history                your past practice interviews and their scores (or /history)
  /end                   end the current interview
  /help                  this help
Anything else is your reply in the interview (answers, feedback, "describe the diagram", "retry")."""

ACTION_HINTS = {Action.SKIP: "type 'skip'", Action.END: "type /end", Action.RETRY: "type 'retry'",
                Action.CONTINUE: "type 'continue'", Action.GO: "type 'go'", Action.CURVEBALL: "type 'curveball'"}
CHOICE_HINT = "type its number or name"


class ConsoleSink:
    """Prints messages; shows live previews by printing only the new text."""

    def __init__(self, out: TextIO, attachments_dir: str | None = None):
        self.out = out
        self.attachments_dir = attachments_dir
        self._shown: dict[str, str] = {}
        self.kinds: list[Kind] = []   # what this turn said (the pause is shown after the questions)

    def _write(self, text: str) -> None:
        self.out.write(clean_text(text))   # no escape sequence from the model reaches the terminal
        self.out.flush()

    async def partial(self, stream_id: str, markdown: str) -> None:
        shown = self._shown.get(stream_id)
        if shown is None:
            self._write("\n")
            shown = ""
        if markdown.startswith(shown):
            self._write(markdown[len(shown):])
            self._shown[stream_id] = markdown

    async def post(self, message: OutMessage) -> None:
        self.kinds.append(message.kind)
        shown = self._shown.pop(message.stream_id, None) if message.stream_id else None
        text = message.markdown
        if shown is not None and text.startswith(shown):
            self._write(text[len(shown):] + "\n")
        else:
            if shown is not None:
                self._write("\n")
            prefix = {Kind.ERROR: "! ", Kind.NOTICE: "· "}.get(message.kind, "")
            self._write("\n" + prefix + text + "\n")
        for att in message.attachments:
            path = self._save(att.filename, att.data)
            self._write(f"  [picture saved: {path}]\n")
        if message.choices:
            listed = ", ".join(f"{c.index + 1}) {c.label}" for c in message.choices)
            self._write(f"  [{listed}: {CHOICE_HINT}]\n")
        if message.actions:
            hints = ", ".join(f"{ACTION_LABELS[a]}: {ACTION_HINTS[a]}" for a in message.actions if a in ACTION_HINTS)
            self._write(f"  [{hints}]\n")

    def _save(self, filename: str, data: bytes) -> str:
        directory = self.attachments_dir or tempfile.gettempdir()
        path = os.path.join(directory, f"interview-{int(time.time() * 1000)}-{filename}")
        with open(path, "wb") as fh:
            fh.write(data)
        return path


class ConsolePlatform:
    """The core's `Platform` for one terminal: each /interview or /diagram opens a new 'thread'."""

    name = "console"
    commands_in_threads = True

    def __init__(self, sink: ConsoleSink):
        self._sink = sink
        self.thread: ThreadRef | None = None
        self._n = 0

    def sink(self, ref: ThreadRef) -> ConsoleSink:
        return self._sink

    async def open_thread(self, where: ThreadRef, title: str, announce: str, event_id: str) -> ThreadRef:
        self._n += 1
        self.thread = where.model_copy(update={"thread": f"{int(time.time())}-{self._n}"})
        self._sink._write("\n" + announce.replace("{thread}", "").strip() + "\n")   # what, at which level, by whom
        return self.thread

    async def display_name(self, author_id: str, fallback: str) -> str:
        return fallback


class ConsoleSession:
    """One terminal: lines in, core events out."""

    def __init__(self, engine: Engine, out: TextIO):
        self.engine = engine
        self.out = out
        self.sink = ConsoleSink(out)
        self.platform = ConsolePlatform(self.sink)
        engine.register(self.platform)
        self.channel = ThreadRef(platform="console", workspace="local", channel=str(os.getpid()), thread="")

    async def _submit(self, kind: EventKind, text: str = "") -> None:
        ref = self.channel if kind in (EventKind.START, EventKind.DIAGRAM, EventKind.PRACTICE, EventKind.HISTORY) \
            else self.platform.thread
        assert ref is not None
        receipt = await self.engine.submit(Inbound(kind=kind, ref=ref, event_id=uuid.uuid4().hex, author="you",
                                                   text=text))
        if receipt.text and not receipt.accepted:
            self.out.write(receipt.text + "\n")
        if kind is EventKind.HISTORY:
            return
        self.sink.kinds.clear()
        await self.engine.pipeline.idle(timeout=3600)
        self._show_pause()

    async def start(self, problem: str, mode: Mode) -> None:
        kind = {Mode.DIAGRAM: EventKind.DIAGRAM, Mode.PRACTICE: EventKind.PRACTICE}.get(mode, EventKind.START)
        await self._submit(kind, problem)

    async def line(self, text: str) -> bool:
        """Handle one input line; False when the session should stop."""
        text = clean_line(text)
        if not text:
            return True
        if text in ("/help", "/?"):
            self.out.write(CONSOLE_HELP + "\n")
            return True
        if text in ("/quit", "/exit"):
            return False
        # Bare `practice` / `history` are commands only before a thread is open; in one they may be an answer.
        bare = self.platform.thread is None
        if text == "/history" or (bare and text == "history"):
            await self._submit(EventKind.HISTORY)
            return True
        for command, mode in (("/interview", Mode.INTERVIEW), ("/diagram", Mode.DIAGRAM),
                              ("/practice", Mode.PRACTICE), ("practice", Mode.PRACTICE)):
            if command == "practice" and not bare:
                continue
            if text == command or text.startswith(command + " "):
                await self.start(text[len(command):].strip(), mode)
                return True
        if text.startswith("/") and text.split()[0] != "/end":
            self.out.write(f"Unknown command {text.split()[0]!r}.\n{CONSOLE_HELP}\n")
            return True
        if self.platform.thread is None:
            self.out.write("No interview yet. " + CONSOLE_HELP + "\n")
            return True
        await self._submit(EventKind.REPLY, "end" if text == "/end" else text)
        return True

    def _show_pause(self) -> None:
        kinds = self.sink.kinds
        if Kind.QUESTIONS in kinds:
            self.out.write("\n⏸  Waiting for your answers. Type them below (or 'skip').\n")
        elif Kind.CHECK_IN in kinds and Kind.WRAP_UP not in kinds:
            self.out.write("\n⏸  Waiting for you. Type your reply below (or 'continue').\n")
        elif Kind.WRAP_UP in kinds:
            self.out.write("\n■  Interview ended. /interview <problem> starts another, /quit leaves.\n")
        self.out.flush()


def clean_line(text: str) -> str:
    """A typed line without control characters (a pasted escape sequence must not reach the screen)."""
    return "".join(ch for ch in text if ch in "\t" or ch >= " " and ch != "\x7f").strip()


async def run_console(engine: Engine, problem: str, mode: Mode, read_line: Callable[[], Awaitable[str | None]],
                      out: TextIO) -> None:
    session = ConsoleSession(engine, out)
    if problem:
        await session.start(problem, mode)
    else:
        out.write(usage_help() + "\n" + CONSOLE_HELP + "\n")
    while True:
        if sys.stdin.isatty():
            out.write("> ")
            out.flush()
        line = await read_line()
        if line is None:
            break
        if not await session.line(line):
            break


def _stdin_reader() -> Callable[[], Awaitable[str | None]]:
    loop = asyncio.get_running_loop()

    async def read() -> str | None:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        return None if line == "" else line

    return read


def first_command(problem: str, mode: Mode) -> tuple[Mode, str]:
    """The command line's words read like the first line typed in a session: `run.sh practice random medium`."""
    words = problem.split(maxsplit=1)
    command = {"practice": Mode.PRACTICE, "/practice": Mode.PRACTICE, "/diagram": Mode.DIAGRAM,
               "/interview": Mode.INTERVIEW}.get(words[0].lower() if words else "")
    if mode is not Mode.INTERVIEW or command is None:
        return mode, problem
    return command, (words[1] if len(words) > 1 else "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="interview-bot console", description="Mock interview in the terminal.")
    parser.add_argument("problem", nargs="*", help='e.g. "Design a URL shortener"')
    parser.add_argument("--diagram", action="store_true", help="diagram-only mode")
    parser.add_argument("--practice", action="store_true", help="practice mode: the bot interviews you")
    args = parser.parse_args(argv)
    mode = Mode.DIAGRAM if args.diagram else Mode.PRACTICE if args.practice else Mode.INTERVIEW
    mode, problem = first_command(" ".join(args.problem), mode)
    settings = settings_or_report("console")
    if settings is None:
        return 2
    setup_logging(settings, level=os.environ.get("LOG_LEVEL", "WARNING"))

    async def go() -> None:
        engine = build_engine(settings)
        engine.start()   # timers (the answer-collection window, practice clock) run as on the other platforms
        try:
            await run_console(engine, problem, mode, _stdin_reader(), sys.stdout)
        finally:
            await close_engine(engine)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        print("\nbye")
    return 0
