"""Slack's HTTP endpoint: the signature is checked before a byte of the body is parsed.

Unsigned or badly signed requests get 401, malformed bodies 400 (never 500,
which Slack would retry), and requests no listener handles 200 (Slack treats
every non-2xx answer, 404 included, as a failed delivery and retries it).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.health import Health, add_health_routes

log = logging.getLogger(__name__)


class SlackHttp:
    def __init__(self, app: AsyncApp, signing_secret: str):
        self.app = app
        # Socket Mode has no signing secret and never serves this endpoint.
        self.verifier = SignatureVerifier(signing_secret) if signing_secret.strip() else None

    def web_app(self, health: Health) -> web.Application:
        """POST /slack/events, plus /healthz, /readyz and /metrics."""
        app = web.Application()
        app.router.add_post("/slack/events", self.events)
        add_health_routes(app, health)
        return app

    def _signed(self, body: str, headers: dict[str, str | Sequence[str]]) -> bool:
        if self.verifier is None:
            return False
        try:
            timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
            if not isinstance(timestamp, str) or not isinstance(signature, str):
                return False
            return self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError):   # a timestamp that is not a number
            return False

    async def events(self, request: web.Request) -> web.Response:
        try:
            body = await request.text()
        except UnicodeDecodeError:
            return web.Response(status=400, text="body is not text")
        headers: dict[str, str | Sequence[str]] = {k.lower(): v for k, v in request.headers.items()}
        if not self._signed(body, headers):
            return web.Response(status=401, text="invalid signature")
        try:
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
            if not body.strip() or not isinstance(bolt_request.body, dict) or not bolt_request.body:
                raise ValueError("body is empty or not an object")
        except Exception as exc:  # noqa: BLE001 - Bolt's parsers raise many kinds
            log.warning("malformed Slack request: %s", exc.__class__.__name__)
            return web.Response(status=400, text="malformed body")
        try:
            response = await self.app.async_dispatch(bolt_request)
        except Exception:  # noqa: BLE001 - never a 500 that Slack would retry forever
            log.exception("Slack request failed in a listener")
            return web.Response(status=200, text="")
        if response.status == 404:
            return web.Response(status=200, text="")
        content_type = response.headers.get("content-type", ["text/plain"])[0]
        return web.Response(status=response.status, body=response.body,
                            content_type=re.sub(r";\s*charset=.*", "", content_type),
                            headers={k: v for k, v in response.first_headers_without_set_cookie().items()
                                     if k.lower() != "content-type"})
