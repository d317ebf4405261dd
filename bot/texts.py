"""Every sentence the bot says that is not written by the model.

Adapters never word anything themselves: they show these texts, so the bot
sounds the same on Slack, Discord and the console.
"""
from __future__ import annotations

from .problems import suggestions

STORE_DOWN = ("I can't reach my memory (the state store) right now, so I didn't change anything. "
              "The interview is safe; please send that again in a minute.")

HELD = ("I can't reach my memory (the state store) right now. I've kept your message and will "
        "handle it as soon as it's back; no need to send it again.")

HELD_START = ("I can't reach my memory (the state store) right now. I've kept your request and will "
              "start as soon as it's back; no need to run the command again.")

THREAD_HELP = (
    "**In this thread you can:**\n"
    "- answer my clarifying questions (anyone here can), or say *skip* and I'll assume sensible defaults\n"
    "- give feedback or a new requirement, and I'll revise the design\n"
    "- ask me to *describe the diagram*, or *dig into* any component\n"
    "- say *export* for a Markdown transcript (with Mermaid source for the diagram)\n"
    "- say *curveball* for a follow-up to throw at me, *usage* for today's model use\n"
    "- say *retry* if something failed, or *end* to wrap up"
)

QUESTIONS_HEADER = "**A few quick questions before I design anything:**"
ANSWER_PROMPT = "_Answer here in the thread (anyone can), or say *skip* and I'll assume sensible defaults._"

ALREADY_PAST_QUESTIONS = "We're already past the questions."
CHECK_IN_HINT = "_Press **Continue** if that's the scope you want, or reply here to change it (anyone can)._"
BUTTON_PASSED = "That button belongs to a step we've already moved past."
FINISH_FIRST = ("I was interrupted in the middle of the design. Say *retry* (or press Retry) and I'll post the rest; "
                "then we can talk about it.")
REMARK_AT_CHECK_IN = ("Noted: that came in while I was still writing, so I'll fold it into the scope. Press "
                      "**Continue** (or reply) when the scope looks right.")
REMARK_AT_OFFER = ("Noted: that came in while I was still writing, so I didn't take it as the deep-dive pick. Press "
                   "one above, or reply naming the part you want me to dig into.")
NO_CURVEBALL = "I'm out of good follow-ups for this one. Push on anything in the design you doubt."
EMPTY_MESSAGE = "That message was empty. " + THREAD_HELP
NOTHING_TO_RETRY = "Nothing to retry: the last step worked."
RETRYING = "Retrying…"
RESUMING = "Picking up where I left off (I was interrupted)."
SKIPPING = "No problem: I'll assume sensible defaults, say what they are, and get going."
ENDED_ALREADY = "This interview has ended. Start a new one with `/interview <problem>`."
TRANSCRIPT = "Here's the transcript of this interview."
OFF_FORMAT = ("My answer came out without its usual sections, so here it is as written. "
              "Ask me for any part you want in more detail.")
DESIGN_CLOSING = ("That's my design. What would you like to push on: a requirement to change, "
                  "a component to dig into, or shall I describe the diagram?")
DIAGRAM_CLOSING = "Want me to dig into any part of this, or change something?"
TURN_FAILED = ("Sorry, something went wrong on my side while handling that message. Nothing else changed: "
               "send it again, or say *retry*.")
NOT_OUR_THREAD = "This thread isn't a mock interview, so there's nothing to do here."
BUTTON_OUTSIDE_THREAD = "This only works inside an interview thread."


def usage_help(command: str = "/interview") -> str:
    ideas = ", ".join(f"*{p}*" for p in suggestions(3, diagram=command == "/diagram"))
    return (
        f"**How to use me:** `/interview <problem>` starts a mock system design interview in a thread, "
        "for example `/interview Design a URL shortener`. I restate the problem, ask 2–3 clarifying "
        "questions, wait for your answers, then walk through the design one section at a time.\n"
        "`/diagram <system>` gives just an interview-ready flow diagram with a legend and walkthrough.\n"
        f"Need an idea? Try `{command} random`, or one of: {ideas}."
    )


def collecting(seconds: int) -> str:
    """The first answer opened the answer window."""
    return (f"Thanks! I'll gather everyone's answers for {seconds} seconds, then design. "
            "Anyone can add theirs; press **Go** (or say *go*) to start now.")


def window_closed(count: int) -> str:
    answers = "1 answer" if count == 1 else f"{count} answers"
    return f"Got {answers}. Designing now."


def deep_dive_offer(lines: list[str]) -> str:
    """The candidate's deep-dive candidates, for the group to pick from."""
    if not lines:
        return ("**Where should I go deep?** Name the part you want me to dig into, "
                "or press **Continue** and I'll pick.")
    return ("**Where should I go deep?**\n" + "\n".join(lines)
            + "\n_Press one, reply naming it (or any other part), or press **Continue** and I'll pick._")


def deep_dive_picked(label: str) -> str:
    return f"Deep dive on **{label}** it is." if label else "I'll pick the deep dive myself."


def pick_a_problem(command: str, typed: str) -> str:
    """A command with no problem, or only the start of one: the bank's matches come with it."""
    head = (f"Problems from the bank matching *{typed}*:" if typed
            else "Pick a problem from the bank, or search all of them below:")
    return (f"{head}\nOr type the whole problem yourself, e.g. `{command} Design a URL shortener`, "
            f"or `{command} random hard` for a surprise.")


def too_long(what: str, length: int, limit: int) -> str:
    return (f"That {what} is {length:,} characters; the limit is {limit:,}. "
            "Please shorten it to the core of the system you want designed.")


def answer_cut(length: int, limit: int) -> str:
    return f"Your message was {length:,} characters; I read the first {limit:,}."


def thread_word_hint(word: str, command: str) -> str:
    """A thread command typed as a slash command where the platform has none inside threads."""
    return (f"Slash commands don't run inside threads here, so to *{word}* an interview "
            f"reply `{word}` in its thread (or use its buttons).\n\n" + usage_help(command))


def not_allowed_here(channels: list[str]) -> str:
    if not channels:
        return "I'm not enabled here. Ask an admin which server and channel to use for mock interviews."
    return "I'm not enabled here: I only run interviews in " + ", ".join(channels) + "."


def starting(mode_label: str, problem: str) -> str:
    return f"Starting a {mode_label}: **{problem}**\nOpening a thread…"


def announce(mode_label: str, problem: str, user: str, detail: str = "") -> str:
    """The message that opens a thread (its first line), `{thread}` filled in by adapters that link it;
    `detail` is the level (and pace), e.g. "staff level, interactive"."""
    how = f" ({detail})" if detail else ""
    return f"**{mode_label[0].upper() + mode_label[1:]}:** {problem}{how}, started by {user}"


def opening_detail(level: str, pace: str | None) -> str:
    """How the thread's first line names the level and, for an interview, the pace."""
    return f"{level} level" + (", interactive pace" if pace == "interactive" else "")


def not_started(reason: str) -> str:
    return f"I couldn't open a thread for that ({reason}). Please try again in a minute."


def haven_t_started(diagram: bool) -> str:
    what = "draw the diagram" if diagram else "ask my questions"
    return f"I haven't managed to {what} yet. Say *retry* and I'll try again."


def model_failed(user_message: str) -> str:
    if "retry" in user_message.lower():   # the message already says what to do
        return user_message
    return f"{user_message} Nothing is lost: say *retry* (or press Retry) and I'll carry on from here."


def delivery_failed() -> str:
    return ("I couldn't post all of my answer (the chat service had trouble). Nothing is lost: "
            "say *retry* (or press Retry) and I'll post the rest.")


def corrupt(detail: str) -> str:
    return (f"I couldn't read this thread's saved interview ({detail}). Nothing else was changed. "
            "Start a fresh one with `/interview <problem>` (or `/diagram <system>`).")


def skipped_sections(names: str) -> str:
    return f"I skipped {names} for time. Ask me about it if you want it covered."


def wrap_up(usage_line: str) -> str:
    return ("That's a wrap! Thanks for the interview. "
            "Say *export* for a transcript, or start another any time with `/interview <problem>`.\n" + usage_line)


def opening_fallback(problem: str) -> str:
    return f"So the task is: {problem}. Before I sketch anything, a few quick questions."


def attachment_unsupported(filename: str) -> str:
    return (f"I can only read text or Markdown files, so I left `{filename}` aside. "
            "Paste the text, or attach it as a .txt or .md file.")


def attachment_too_long(filename: str, length: int, limit: int) -> str:
    return (f"`{filename}` is {length:,} characters; I read files up to {limit:,}. "
            "Please attach a shorter version (or paste the key parts).")


def attachment_unreadable(filename: str) -> str:
    return f"I couldn't read `{filename}` (the download failed or it isn't UTF-8 text). Please attach it again."


def not_started_on(error: str) -> str:
    """A thread could not be opened; `error` is the platform's error code."""
    if error in ("not_in_channel", "channel_not_found"):
        hint = "Invite me first: `/invite @Interview Bot`."
    elif error in ("missing_permission", "Forbidden"):
        hint = "Ask an admin to give me permission to create threads and post here."
    else:
        hint = "Please try again in a minute."
    return f"I couldn't start a thread here (the platform said `{error}`). {hint}"


# -- where a command may run (the adapter tells the core which of these applies) --------------
def dm_refusal(command: str) -> str:
    return (f"I run interviews in server threads, so `{command}` doesn't work in DMs. "
            "Use it in a text channel of a server I'm in.")


def in_thread_refusal(command: str) -> str:
    return (f"`{command}` opens a new thread, so use it in the text channel, not inside a thread. "
            "Inside an interview thread just reply, or use `/end`.")


def wrong_channel_refusal(command: str) -> str:
    return f"`{command}` works in text channels (where I can open a thread), not in this kind of channel."


def missing_permissions(names: list[str], where: str) -> str:
    listed = ", ".join(f"**{m}**" for m in names)
    plural = "s" if len(names) > 1 else ""
    return (f"I can't run an interview here: I'm missing the {listed} permission{plural} in {where}. "
            "Ask a server admin to grant it to my role (see the set-up guide).")


def thread_opened(announce: str, link: str) -> str:
    return f"{announce}\nIt's in {link}, where anyone can answer."


ENDING = "Ending the interview…"
END_OUTSIDE_THREAD = "Use `/end` inside an interview thread."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again."
