"""Markdown -> Slack mrkdwn, mention escaping and splitting: pure functions.

Slack's mrkdwn is not Markdown: `*bold*`, `_italic_`, `~strike~`, links as
`<url|text>`, no headings or list syntax, and the three control characters
`&`, `<`, `>` must be sent as entities everywhere (code included), or Slack
reads `<!channel>` and `<@U123>` as pings.  Code blocks keep their content
verbatim (escaped only); their language tag is dropped because Slack would
show it as the first line of code.
"""
from __future__ import annotations

import re

from bot.formatting import FENCE_RE, split_markdown

ZWSP = "\u200b"
# Slack's hard limits: a section block holds 3,000 characters; plain message
# text fails with msg_too_long a little under 4,000 in practice.
SECTION_LIMIT = 3000

_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s<>|]+$", re.I)
_LINK = re.compile(r"\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^\s<>|]+)>", re.I)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_BOLD_ITALIC = re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*")
_BOLD = re.compile(r"(?<![\\*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?!\*)")
_BOLD_UNDER = re.compile(r"(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])")
_ITALIC_STAR = re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w\x01])_(?=\S)(.+?)(?<=\S)_(?![\w\x02])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^(\s{0,3}>\s?)+")
_TOKEN = re.compile("\x00(\\d+)\x00")

# Anything Slack could turn into a ping once it reaches the API as text.
_SPECIAL = re.compile(r"<\s*([!@][^<>]*)>")
# A channel link (`<#C123>`) pings nobody; the core uses it to name channels.
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)>")
_RAW_MASS = re.compile(r"(?<![\w.])[@＠](?!" + ZWSP + r")(channel|here|everyone|all)\b", re.I)


def escape(text: str) -> str:
    """Escape Slack's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_mentions(text: str) -> str:
    """Make every mention syntax inert; idempotent and safe on finished mrkdwn.

    `<!channel>`, `<!here>`, `<!everyone>`, `<@U123>`, `<!subteam^S1>`,
    `<#C1>` become visible text; raw `@channel`/`@here`/`@everyone` get a
    zero-width space so no client or API option (`link_names`) links them.
    """
    text = _SPECIAL.sub(lambda m: "&lt;" + m.group(1) + "&gt;", text)
    return _RAW_MASS.sub(lambda m: "@" + ZWSP + m.group(1), text)


def _link(label: str, url: str) -> str:
    url = url.strip()
    label = label.strip() or url
    if _SAFE_URL.match(url):
        return f"<{escape(url)}|{escape(label).replace('|', '¦')}>"
    # Not a web link (or an attempt at `<!channel|x>`): show it as text.
    return f"{escape(label)} ({escape(url)})"


def _inline(text: str) -> str:
    """Convert one line of Markdown prose (outside code blocks)."""
    saved: list[str] = []

    def keep(s: str) -> str:
        saved.append(s)
        return f"\x00{len(saved) - 1}\x00"

    text = _INLINE_CODE.sub(lambda m: keep("`" + escape(m.group(2).replace("`", "'")) + "`"), text)
    text = _LINK.sub(lambda m: keep(_link(m.group(1), m.group(2))), text)
    text = _AUTOLINK.sub(lambda m: keep(f"<{escape(m.group(1))}>"), text)
    text = _CHANNEL.sub(lambda m: keep(f"<#{m.group(1)}>"), text)
    text = escape(text)
    text = _BOLD_ITALIC.sub(lambda m: keep("*_" + m.group(1) + "_*"), text)
    text = _BOLD.sub(lambda m: keep("*" + _ITALIC_STAR.sub(r"_\1_", m.group(1)) + "*"), text)
    text = _BOLD_UNDER.sub(lambda m: keep("*" + m.group(1) + "*"), text)
    # `*x*` becomes `_x_`, except inside an `_..._` span: Slack cannot nest italics.
    text = _ITALIC_STAR.sub(lambda m: "\x01" + m.group(1) + "\x02", text)
    text = _ITALIC_UNDER.sub(lambda m: m.group(0).replace("\x01", "").replace("\x02", ""), text)
    text = text.replace("\x01", "_").replace("\x02", "_")
    text = _STRIKE.sub(lambda m: "~" + m.group(1) + "~", text)
    while _TOKEN.search(text):  # tokens may nest (a link inside bold)
        text = _TOKEN.sub(lambda m: saved[int(m.group(1))], text)
    return text


def _plain(text: str) -> str:
    """Strip emphasis markers (used inside headings, which are bold already)."""
    return re.sub(r"(\*\*|__|\*(?=\S)|(?<=\S)\*)", "", text)


def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown to Slack mrkdwn, keeping code blocks intact."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.replace("\r\n", "\n").split("\n"):
        m = FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= len(fence) and not m.group(3).strip():
                fence = None
                out.append("```")
            else:  # Slack cannot nest fences: keep an inner ``` from closing the block
                out.append(escape(line).replace("```", "`" + ZWSP + "``"))
            continue
        if m:
            fence = m.group(2)
            out.append("```")   # Slack shows a language tag as code: drop it
            continue
        if _RULE.match(line):
            out.append("──────────")
            continue
        h = _HEADING.match(line)
        if h:
            title = _inline(_plain(h.group(2)))
            out.append(f"*{title}*" if title.strip() else "")
            continue
        quote = _QUOTE.match(line)
        prefix = ""
        if quote:
            prefix, line = "> ", line[quote.end():]
        b = _BULLET.match(line)
        if b:
            depth = len(b.group(1).expandtabs(4)) // 2
            bullet = "•" if depth == 0 else "◦"
            out.append(prefix + "    " * min(depth, 3) + bullet + " " + _inline(b.group(2)))
            continue
        out.append(prefix + _inline(line))
    if fence is not None:
        out.append("```")  # an unclosed fence would swallow everything after it
    return "\n".join(out)


def utf16_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units: an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def _split_mrkdwn(text: str, limit: int) -> list[str]:
    size = limit
    while True:
        chunks = [c for c in split_markdown(text, size) if c.strip()]
        if all(utf16_len(c) <= limit for c in chunks) or size < 200:
            break
        size = int(size * 0.8)  # wide characters: try smaller pieces
    out: list[str] = []
    for chunk in chunks:  # last resort: a hard cut
        while utf16_len(chunk) > limit:
            cut = limit // 2
            out.append(chunk[:cut])
            chunk = chunk[cut:]
        if chunk.strip():
            out.append(chunk)
    return out


def render(markdown: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Markdown from the core -> safe mrkdwn chunks of at most `limit` characters."""
    return _split_mrkdwn(escape_mentions(to_mrkdwn(markdown)), limit)


def render_preview(markdown: str, limit: int = SECTION_LIMIT) -> str:
    """One chunk for a live preview (text still being written): the tail is cut."""
    text = escape_mentions(to_mrkdwn(markdown))
    if len(text) <= limit:
        return text
    first = _split_mrkdwn(text, limit - 2)[0]
    return first + "\n…"


_SLACK_REF = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def from_slack(text: str) -> str:
    """Slack's wire format (what users typed) -> plain text for the model."""
    def plain(m: re.Match) -> str:
        target, label = m.group(1), m.group(2)
        if target[:1] in "@#":
            return target[0] + (label.lstrip("@#") if label else target[1:])
        if target[:1] == "!":
            if label:
                return label
            return "@" + target[1:].split("^")[0]
        if label and label != target and label not in target:
            return f"{label} ({target})"
        return label or target
    text = _SLACK_REF.sub(plain, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
