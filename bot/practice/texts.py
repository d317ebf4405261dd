"""Everything practice mode says that the model does not write (same words on every platform)."""
from __future__ import annotations

from ..problems import suggestions

COMMAND = "/practice"

THREAD_HELP = (
    "**In this practice interview:**\n"
    "- I'm the interviewer: answer in this thread, ask me clarifying questions, think out loud\n"
    "- share a diagram as a code block, as a ```graph block, or as a PNG or JPEG image (a whiteboard photo works)\n"
    "- say *next* to move on to the next phase, *hint* if you're stuck (hints are counted in the score)\n"
    "- say *end* for your scorecard (it also comes when the time is up), *export* for a transcript\n"
    "- *retry* if something failed"
)

NO_HINT_AFTER_END = "This practice interview is over, so no more hints. Start another with `/practice random`."
ENDED_ALREADY = ("This practice interview has ended; the scorecard is above. Say *export* for a transcript, "
                 "or start another with `/practice random medium`.")
LAST_PHASE = "We're already in the wrap-up, the last phase. Say *end* when you're done and I'll post your scorecard."
SCORING = "Thanks, that's time. Putting your scorecard together…"
SCORING_ON_REQUEST = "Okay, let's stop here. Putting your scorecard together…"
TIME_UP = "⏱ That's the time for this interview. Putting your scorecard together…"
CARD_FALLBACK = ("(No card could be written for this problem. Choose an answer the first time a question comes "
                 "up, say it plainly, and keep to it for the rest of the interview.)")
UNVERIFIED_NOTE = "_(no passage could be verified in the thread for this signal)_"
NOTHING_TO_RETRY = "Nothing to retry: the last step worked."


def usage_help() -> str:
    ideas = ", ".join(f"*{p}*" for p in suggestions(3))
    return ("**Practice mode:** `/practice <problem>` and I interview *you*: I keep a 45-minute clock in phases, "
            "ask follow-ups on what you write, and post a scorecard at the end. "
            "`/practice random medium` picks a problem for you (easy, medium or hard). "
            f"Ideas: {ideas}. `/history` lists your past practice interviews.")


def clock_footer(line: str) -> str:
    """The clock, shown under each interviewer message."""
    return f"_⏱ {line[0].upper() + line[1:]}_"


def watching(candidate: str) -> str:
    return (f"You're watching {candidate}'s practice interview, so I'll answer only them. Your messages are kept "
            "as notes in the transcript (*export*). Want your own turn? Run `/practice random medium`.")


def nudge(phase: str) -> str:
    return (f"Just a nudge: we're over the time for the {phase}. Wrap up this part when you're ready, "
            "or say *next* to move on.")


def model_failed(message: str) -> str:
    if "retry" in message.lower():
        return message
    return f"{message} Nothing you wrote is lost: say *retry* and I'll answer it."


def scorecard_failed(detail: str) -> str:
    return ("I couldn't put the scorecard together this time (the model's answer was not usable: "
            f"{detail}). Nothing is lost: say *end* again to retry.")


def image_unreadable(filename: str) -> str:
    return f"I couldn't download `{filename}`. Please attach it again (PNG or JPEG), or paste the diagram as text."


def size_text(n: int) -> str:
    """'3.8 MB', '12 KB'."""
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def image_too_big(filename: str, size: int, limit: int) -> str:
    return (f"`{filename}` is {size_text(size)}; I can read images up to {size_text(limit)}. "
            "A screenshot or a smaller export of the drawing works well.")


def file_unsupported(filename: str) -> str:
    return (f"I can't read `{filename}`. Share a diagram as a PNG or JPEG image, as a code block, or as a "
            "```graph block; text answers as a message or a .txt/.md file.")


def bad_graph(problem: str) -> str:
    return (f"Your ```graph block didn't parse ({problem}), so I read it as plain text. "
            "That's fine for the interview; fix it only if you want it drawn.")


def history_not_yours() -> str:
    return "You can see only your own practice history here (an admin can change that with HISTORY_VISIBLE_TO_GROUP)."


def history_who_unclear() -> str:
    return "Mention the person as @name (or leave it empty for your own history)."


def history_unavailable() -> str:
    return "I can't reach my memory (the state store) right now, so I can't show the history. Try again in a minute."


def wrap_up(usage_line: str) -> str:
    return ("That's the end of this practice interview. Say *export* for a transcript with the scorecard, "
            "or start another with `/practice random medium`.\n" + usage_line)
