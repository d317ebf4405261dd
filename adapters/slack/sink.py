"""The Slack side of the core's `Sink`: mrkdwn chunks, buttons, live previews, uploads."""
from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.messages import ACTION_LABELS, Action, Choice, DeliveryError, OutMessage, choice_id
from bot.progress import LivePreviews

from .api import SlackApi
from .mrkdwn import SECTION_LIMIT, render, render_preview

log = logging.getLogger(__name__)


def blocks_for(text: str, actions: list[Action], choices: list[Choice] | None = None) -> list[dict]:
    buttons: list[dict] = [{"type": "button", "action_id": choice_id(c.index), "value": str(c.index),
                            "text": {"type": "plain_text", "text": c.label[:75] or str(c.index + 1), "emoji": True}}
                           for c in choices or []]
    for action in actions:
        button = {"type": "button", "action_id": action.value, "value": action.value,
                  "text": {"type": "plain_text", "text": ACTION_LABELS[action][:75], "emoji": True}}
        if action is Action.END:
            button["style"] = "danger"
        elif action in (Action.RETRY, Action.CONTINUE, Action.GO):
            button["style"] = "primary"
        buttons.append(button)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "block_id": "ib_actions", "elements": buttons}]


# Our messages carry Slack message metadata, so a turn continued after a crash can tell what the thread
# already shows: finished messages by the core's dedupe key, and live previews that were never finished.
META_TYPE = "interview_bot"


def meta(role: str, key: str | None = None) -> dict:
    payload = {"role": role, "key": key} if key else {"role": role}
    return {"event_type": META_TYPE, "event_payload": payload}


def slack_error(exc: Exception) -> str:
    """The error code of a failed call, whatever shape its response had (a 5xx body may not be JSON)."""
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        status = getattr(exc.response, "status_code", None)
        return f"HTTP {status}" if status else "error"
    return exc.__class__.__name__


class SlackSink:
    """Posts one thread's output (the engine's Sink protocol)."""

    def __init__(self, api: SlackApi, channel: str, thread_ts: str, *, preview_interval: float | None = 1.5,
                 preview_delay: float = 1.0):
        self.api, self.channel, self.thread_ts = api, channel, thread_ts
        self.live = preview_interval is not None
        # Once something of this turn is visible, a further stream gets a placeholder only if it
        # is still being written after `preview_delay`: short sections are posted once, finished,
        # which saves a chat.update (Slack allows ~50 a minute per workspace) per section.
        self.preview_delay = preview_delay
        self._first_partial: dict[str, float] = {}
        self._previewing: set[str] = set()
        self._visible = False
        self._shown: set[str] = set()      # dedupe keys of this turn's messages the thread already shows
        self.previews = LivePreviews(self._create, self._edit, min_interval=preview_interval or 0.0,
                                     limit=SECTION_LIMIT - 200)

    async def _create(self, markdown: str, stream_id: str) -> str:
        return await self.api.post(self.channel, render_preview(markdown), thread_ts=self.thread_ts,
                                   metadata=meta("preview", stream_id))

    async def _edit(self, ts: str, markdown: str) -> None:
        await self.api.update(self.channel, ts, render_preview(markdown), optional=True)

    async def partial(self, stream_id: str, markdown: str) -> None:
        if not self.live or not markdown.strip():
            return
        if stream_id not in self._previewing:
            started = self._first_partial.setdefault(stream_id, time.monotonic())
            if self._visible and time.monotonic() - started < self.preview_delay:
                return
            if not await self.api.can_edit_soon():
                # A placeholder must be edited into the final text later; with the workspace's edit
                # budget spent, post the text once, finished, instead of waiting for an edit.
                return
            self._previewing.add(stream_id)
        try:
            await self.previews.partial(stream_id, markdown)
            self._visible = True
        except (SlackClientError, TimeoutError) as exc:  # a preview is a courtesy: never fail the turn for it
            log.warning("preview failed in %s/%s: %s", self.channel, self.thread_ts, slack_error(exc))

    async def recover(self, turn: str) -> None:
        """A turn continued after a crash: note which of its messages (dedupe keys starting with `turn`) the
        thread already shows, so they are not posted twice, and remove previews that were never finished."""
        try:
            messages = await self.api.thread_messages(self.channel, self.thread_ts)
        except (SlackClientError, TimeoutError) as exc:
            log.warning("could not read %s/%s to continue a turn: %s", self.channel, self.thread_ts, slack_error(exc))
            return
        for m in messages:
            data = m.get("metadata") or {}
            payload = data.get("event_payload") or {}
            if data.get("event_type") != META_TYPE:
                continue
            if payload.get("role") == "final" and str(payload.get("key", "")).startswith(turn):
                self._shown.add(str(payload["key"]))
            elif payload.get("role") == "preview":
                try:
                    await self.api.delete(self.channel, m["ts"])
                except (SlackClientError, TimeoutError) as exc:
                    log.warning("stale preview %s not removed: %s", m.get("ts"), slack_error(exc))

    async def post(self, message: OutMessage) -> None:
        chunks = render(message.markdown) or ["…"]
        preview_ts = self.previews.take(message.stream_id)
        if message.dedupe_key is not None and message.dedupe_key in self._shown:
            log.info("%s/%s: message %s is already in the thread; not posted again", self.channel,
                     self.thread_ts, message.dedupe_key)
            if preview_ts:
                await self._drop(preview_ts)
            return
        self._visible = True
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            blocks = (blocks_for(chunk, message.actions, message.choices)
                      if last and (message.actions or message.choices) else None)
            marker = meta("final", message.dedupe_key) if last else meta("part")
            if i == 0 and preview_ts and await self._finish_preview(preview_ts, chunk, blocks, marker):
                continue
            try:
                await self.api.post(self.channel, chunk, thread_ts=self.thread_ts, blocks=blocks, metadata=marker)
            except (SlackClientError, TimeoutError) as exc:
                raise DeliveryError(f"chat.postMessage in {self.channel}/{self.thread_ts}: "
                                    f"{slack_error(exc)}") from exc
        for att in message.attachments:
            try:
                await self.api.upload(self.channel, self.thread_ts, att.filename, att.data,
                                      title="Diagram" if message.section == "diagram" else att.filename)
            except (SlackClientError, OSError, ValueError) as exc:  # the text is already posted
                log.warning("upload of %s failed: %s", att.filename, slack_error(exc))

    async def _drop(self, ts: str) -> None:
        try:
            await self.api.delete(self.channel, ts)
        except (SlackClientError, TimeoutError) as exc:
            log.warning("preview %s not removed: %s", ts, slack_error(exc))

    async def _finish_preview(self, ts: str, chunk: str, blocks: list | None, marker: dict) -> bool:
        """Turn the live preview into the final text; False if it must be posted anew."""
        try:
            await self.api.update(self.channel, ts, chunk, blocks=blocks, metadata=marker)
            return True
        except (SlackClientError, TimeoutError) as exc:  # deleted, too old, or Slack is struggling
            log.warning("final edit failed (%s); posting instead", slack_error(exc))
            return False
