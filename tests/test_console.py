"""The console adapter: a whole interview in a terminal, driven by a script."""
from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

from adapters.console import run_console
from bot.sections import DESIGN_SECTIONS
from bot.state import Mode

ROOT = Path(__file__).resolve().parent.parent


def reader(lines):
    it = iter(lines)

    async def read():
        return next(it, None)

    return read


async def test_whole_console_interview(engine, fake_llm):
    out = io.StringIO()
    await run_console(engine, "Design a URL shortener", Mode.INTERVIEW,
                      reader(["About 100M links a month\n", "Add rate limiting per user\n", "/end\n"]), out)
    text = out.getvalue()
    pause = text.index("Waiting for your answers")
    assert text.index("A few quick questions") < pause
    # Sections appear in order, after the pause.
    positions = [text.index(f"### {DESIGN_SECTIONS[s]}") for s in DESIGN_SECTIONS if s != "closing"]
    assert positions == sorted(positions) and positions[0] > pause
    assert "Legend" in text
    assert text.index("Updated diagram") > positions[-1]
    assert "Interview ended" in text
    # Streaming: the restatement was printed once, not twice (preview + final).
    assert text.count("picture this") == 1


async def test_console_commands(engine, fake_llm):
    out = io.StringIO()
    await run_console(engine, "", Mode.INTERVIEW, reader(["hello\n", "/bogus\n", "/help\n", "/interview\n",
                                                         "/diagram a web crawler\n", "/quit\n"]), out)
    text = out.getvalue()
    assert "No interview yet" in text
    assert "Unknown command '/bogus'" in text
    assert "/diagram <system>" in text
    assert "Walkthrough" in text and "Legend" in text


def test_cli_missing_key_says_so_clearly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "REDIS"))}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", "Design X"], cwd=tmp_path, env=env
                          | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "ANTHROPIC_API_KEY is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_invalid_setting_is_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), ANTHROPIC_API_KEY="k", MAX_PROBLEM_CHARS="lots")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", "x"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "MAX_PROBLEM_CHARS is invalid" in proc.stderr and "Traceback" not in proc.stderr


async def test_cli_with_piped_stdin(fake_llm, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=fake_llm.base_url)
    env.pop("REDIS_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "Design a URL shortener", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"skip\ndescribe the diagram\n/end\n"), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "Waiting for your answers" in text and "### Deep dive" in text and "Interview ended" in text
    assert "ANTHROPIC" not in err.decode() and "test" not in err.decode()


async def test_bare_practice_and_history_are_answers_inside_a_thread(engine, fake_llm):
    from adapters.console import ConsoleSession

    out = io.StringIO()
    session = ConsoleSession(engine, out)
    await session.start("Design a URL shortener", Mode.INTERVIEW)
    thread = session.platform.thread
    await session.line("practice makes perfect: 100M links a month")
    await session.line("history")
    assert session.platform.thread == thread, "no new thread was opened"
    state = await engine.store.load(thread.key(engine.store.prefix))
    assert state.mode is Mode.INTERVIEW
    assert [a.text for a in state.answers][:1] == ["practice makes perfect: 100M links a month"]


def test_the_command_line_reads_like_a_first_line():
    from adapters.console import first_command

    assert first_command("practice random medium", Mode.INTERVIEW) == (Mode.PRACTICE, "random medium")
    assert first_command("/diagram a web crawler", Mode.INTERVIEW) == (Mode.DIAGRAM, "a web crawler")
    assert first_command("Design a URL shortener", Mode.INTERVIEW) == (Mode.INTERVIEW, "Design a URL shortener")
    assert first_command("Diagram editor like draw.io", Mode.INTERVIEW) == (Mode.INTERVIEW,
                                                                           "Diagram editor like draw.io")
    assert first_command("random medium", Mode.PRACTICE) == (Mode.PRACTICE, "random medium")


async def test_a_new_thread_says_what_is_being_designed(engine, fake_llm):
    out = io.StringIO()
    await run_console(engine, "Design a URL shortener level: staff", Mode.INTERVIEW, reader(["/end\n"]), out)
    first = out.getvalue().strip().splitlines()[0]
    assert "Design a URL shortener" in first and "staff level" in first
