"""Slack Web API calls, kept within Slack's rate limits and retried on 429, 5xx and timeouts."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.rate import Bucket, LocalBucket

log = logging.getLogger(__name__)


# --------------------------------------------------------------------- pacing
class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting exactly Retry-After (plus a little jitter) and counting."""

    def __init__(self, max_retry_count: int = 3, on_limited: Callable[[], None] | None = None):
        super().__init__(max_retry_count=max_retry_count)
        self.count = 0
        self.on_limited = on_limited

    async def prepare_for_next_attempt_async(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        self.count += 1
        if self.on_limited is not None:
            self.on_limited()
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            wait = float(str(header[0] if isinstance(header, list) else header))
        except (TypeError, ValueError):
            wait = 1.0
        log.warning("Slack rate limit on %s: waiting %.1fs", request.url.rsplit("/", 1)[-1], wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait + random.random() * 0.1)
        state.increment_current_attempt()


class SlackApi:
    """The Web API calls the adapter makes, kept within Slack's rate limits.

    chat.postMessage: about one per second per channel, short bursts allowed.
    chat.update: about 50 a minute per workspace; preview edits are skipped
    when the budget is spent, final edits wait for it.
    """

    def __init__(self, client: AsyncWebClient, *, post_burst: float = 3, post_rate: float = 0.9,
                 update_burst: float = 5, update_rate: float = 0.75, update_bucket: Bucket | None = None):
        self.client = client
        self._post_conf = (post_burst, post_rate)
        self._posts: dict[str, LocalBucket] = {}
        # chat.update is limited per workspace: with Redis, every process draws from one bucket.
        self._updates: Bucket = update_bucket or LocalBucket(update_burst, update_rate)
        self.calls = 0

    def _post_bucket(self, channel: str) -> LocalBucket:
        if channel not in self._posts:
            self._posts[channel] = LocalBucket(*self._post_conf)
        return self._posts[channel]

    async def post(self, channel: str, text: str, *, thread_ts: str | None = None,
                   blocks: list | None = None, metadata: dict | None = None) -> str:
        await self._post_bucket(channel).take()
        self.calls += 1
        kw: dict[str, Any] = dict(channel=channel, text=text, unfurl_links=False, unfurl_media=False,
                                  link_names=False)
        if thread_ts:
            kw["thread_ts"] = thread_ts
        if blocks:
            kw["blocks"] = blocks
        if metadata:
            kw["metadata"] = metadata
        resp = await self.client.chat_postMessage(**kw)
        return resp["ts"]

    async def can_edit_soon(self) -> bool:
        """Is there chat.update budget left for a placeholder's final edit (and an edit or two before it)?"""
        return await self._updates.level() >= 2

    async def update(self, channel: str, ts: str, text: str, *, blocks: list | None = None,
                     optional: bool = False, metadata: dict | None = None) -> bool:
        if optional:
            if not await self._updates.try_take():
                return False
        else:
            await self._updates.take()
        self.calls += 1
        extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [],
                                      link_names=False, **extra)
        return True

    async def thread_messages(self, channel: str, thread_ts: str, *, pages: int = 5) -> list[dict]:
        """The thread's messages with their metadata, oldest first (up to `pages` pages of 200)."""
        out: list[dict] = []
        cursor = None
        for _ in range(pages):
            self.calls += 1
            resp = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200, cursor=cursor,
                                                           include_all_metadata=True)
            out.extend(resp.get("messages") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return out

    async def recent_messages(self, channel: str, limit: int = 50) -> list[dict]:
        """The channel's newest messages (not thread replies) with their metadata, newest first."""
        self.calls += 1
        resp = await self.client.conversations_history(channel=channel, limit=limit, include_all_metadata=True)
        return list(resp.get("messages") or [])

    async def delete(self, channel: str, ts: str) -> None:
        self.calls += 1
        await self.client.chat_delete(channel=channel, ts=ts)

    async def upload(self, channel: str, thread_ts: str, filename: str, data: bytes, title: str) -> None:
        await self._post_bucket(channel).take()
        self.calls += 3
        await self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, file=data,
                                          filename=filename, title=title)


def install_retries(client: AsyncWebClient, rate_limits: RateLimitRetry) -> None:
    """Connection errors and timeouts, 429 (waiting Retry-After) and 5xx are retried with backoff."""
    errors = [ServerConnectionError, ServerDisconnectedError, ClientOSError, asyncio.TimeoutError]
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=2, error_types=errors), rate_limits,
                             AsyncServerErrorRetryHandler(max_retry_count=2)]
