"""A local fake of the Slack Web API, served by aiohttp.

The real ``slack_sdk.web.async_client.AsyncWebClient(base_url=fake.base_url)``
talks to it over HTTP.  Every call is recorded (method, merged arguments,
HTTP status), messages are kept with their thread and their latest text, and
faults can be queued per method::

    async with FakeSlack() as fake:
        fake.fail("chat.postMessage", status=429, retry_after=1)   # next call: 429
        fake.fail("chat.update", error="message_not_found")          # next call: ok:false
        client = AsyncWebClient(token=fake.token, base_url=fake.base_url)

Optional rate limits (token buckets, like Slack's "about one message per
second per channel, short bursts allowed"): ``FakeSlack(rate_limits={
"chat.postMessage": (burst, per_second)})``; chat.postMessage is limited per
channel, every other method per workspace.  Over the limit the fake answers
429 with ``Retry-After`` and counts it in ``rate_limited``.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["Call", "Fault", "FakeSlack"]

TEXT_LIMIT = 4000
SECTION_TEXT_LIMIT = 3000


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def channel(self) -> str | None:
        return self.args.get("channel") or self.args.get("channel_id")

    @property
    def thread_ts(self) -> str | None:
        return self.args.get("thread_ts")

    @property
    def text(self) -> str:
        return self.args.get("text") or ""

    @property
    def blocks(self) -> list:
        return self.args.get("blocks") or []

    def strings(self) -> list[str]:
        """Every user-visible string this call sent (text and all block texts)."""
        out = [self.text] if self.text else []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "text" and isinstance(v, str):
                        out.append(v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(self.blocks)
        for key in ("initial_comment", "title"):
            if isinstance(self.args.get(key), str):
                out.append(self.args[key])
        return out


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0          # seconds to hang before answering (a slow or stuck Slack)


class _Bucket:
    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate, self.tokens, self.stamp = capacity, rate, capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakeSlack:
    def __init__(self, *, token: str = "xoxb-test", app_token: str = "xapp-test", team_id: str = "T0TEAM", bot_user_id: str = "UBOT",
                 bot_id: str = "BBOT", rate_limits: dict[str, tuple[float, float]] | None = None,
                 not_in_channels: set[str] | None = None):
        self.token, self.app_token = token, app_token
        self.sockets: list[web.WebSocketResponse] = []     # open Socket Mode connections
        self.socket_acks: dict[str, dict[str, Any]] = {}   # envelope_id -> the app's ack
        self._socket_open = None
        self._envelopes = itertools.count(1)
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.rate_limits = dict(rate_limits or {})
        self.not_in_channels = set(not_in_channels or ())
        self.calls: list[Call] = []
        self.faults: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
        self.messages: dict[str, dict[str, Any]] = {}      # ts -> message (latest text)
        self.deleted: list[dict[str, Any]] = []            # messages removed with chat.delete
        self.uploads: dict[str, bytes] = {}                # file_id -> bytes sent to the upload URL
        self.files: list[dict[str, Any]] = []              # completed uploads (channel, thread_ts, title)
        self.responses: list[dict[str, Any]] = []          # posts to response_url
        self.hosted: dict[str, bytes] = {}                 # file id -> bytes of files people attached
        self.rate_limited = 0
        self.users: dict[str, str] = {}                    # user id -> display name for users.info
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.root = ""
        self.base_url = ""

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> "FakeSlack":
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/files-pri/{file_id}/{name}", self._file)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/api/"
        return self

    async def __aexit__(self, *exc) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -------------------------------------------------------------- helpers
    def fail(self, method: str, *, status: int = 200, error: str | None = None,
             retry_after: float | None = None, times: int = 1, delay: float = 0.0) -> None:
        for _ in range(times):
            self.faults[method].append(Fault(status=status, error=error, retry_after=retry_after, delay=delay))

    def host_file(self, name: str, data: bytes, mimetype: str) -> dict[str, Any]:
        """A file object as it appears in a message event; its bytes are served to the bot token only."""
        file_id = f"F{next(self._files):08d}"
        self.hosted[file_id] = data
        url = f"{self.root}/files-pri/{file_id}/{name}"
        return {"id": file_id, "name": name, "mimetype": mimetype, "size": len(data), "url_private": url,
                "url_private_download": url}

    async def _file(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=302, headers={"Location": f"{self.root}/login"})
        data = self.hosted.get(request.match_info["file_id"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    def response_url(self, name: str = "r") -> str:
        return f"{self.root}/response/{name}"

    def api_calls(self, *methods: str, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if (not methods or c.method in methods)
                and (not ok_only or (c.status == 200 and c.error is None))]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Messages in a thread (replies only), in posting order, with their latest text."""
        return [m for m in self.messages.values() if m["channel"] == channel and m.get("thread_ts") == thread_ts]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel"] == channel and not m.get("thread_ts")]

    def sent_strings(self) -> list[str]:
        out: list[str] = []
        for c in self.calls:
            out.extend(c.strings())
        for r in self.responses:
            out.append(json.dumps(r))
        return out

    # ------------------------------------------------------------- handlers
    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        ctype = request.content_type or ""
        if request.can_read_body:
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    body = {}
                if isinstance(body, dict):
                    args.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "files", "attachments", "metadata"):
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass
        for key in list(args):
            if isinstance(args[key], str) and args[key].lower() in ("true", "false") and key != "text":
                args[key] = args[key].lower() == "true"
        return args

    def _limited(self, method: str, args: dict[str, Any]) -> bool:
        conf = self.rate_limits.get(method)
        if not conf:
            return False
        scope = str(args.get("channel") or "") if method == "chat.postMessage" else ""
        bucket = self._buckets.setdefault((method, scope), _Bucket(*conf))
        return not bucket.take()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        call = Call(method=method, args=args)
        self.calls.append(call)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else args.get("token")
        if token != (self.app_token if method == "apps.connections.open" else self.token):
            call.error = "invalid_auth"
            return web.json_response({"ok": False, "error": "invalid_auth"})
        fault = self.faults[method].popleft() if self.faults.get(method) else None
        if fault is None and self._limited(method, args):
            fault = Fault(status=429, retry_after=1)
        if fault is not None:
            call.status, call.error = fault.status, fault.error
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status == 429:
                self.rate_limited += 1
                call.error = "ratelimited"
                headers = {"Retry-After": str(int(fault.retry_after if fault.retry_after is not None else 1))}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            if fault.status != 200:
                return web.Response(status=fault.status, text="server error")
            return web.json_response({"ok": False, "error": fault.error or "fatal_error"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            call.error = "unknown_method"
            return web.json_response({"ok": False, "error": "unknown_method"})
        result = handler(args)
        if not result.get("ok"):
            call.error = result.get("error")
        return web.json_response(result)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _response(self, request: web.Request) -> web.Response:
        try:
            self.responses.append(await request.json())
        except ValueError:
            self.responses.append({"raw": await request.text()})
        return web.Response(text="ok")

    # ---------------------------------------------------------- socket mode
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self.sockets),
                            "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}})
        try:
            async for msg in ws:
                if msg.type.name == "TEXT":
                    data = json.loads(msg.data)
                    if data.get("envelope_id"):
                        self.socket_acks[data["envelope_id"]] = data
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def wait_socket(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode connection")
            await asyncio.sleep(0.01)

    async def socket_send(self, type_: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Deliver an envelope (slash_commands, events_api, interactive) to the connected app."""
        envelope_id = f"env-{next(self._envelopes)}"
        await self.sockets[-1].send_json({"envelope_id": envelope_id, "type": type_, "payload": payload,
                                          "accepts_response_payload": type_ != "events_api",
                                          "retry_attempt": retry_attempt, "retry_reason": ""})
        return envelope_id

    async def socket_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.socket_acks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ack for {envelope_id}")
            await asyncio.sleep(0.005)
        return self.socket_acks[envelope_id]

    # -------------------------------------------------------------- methods
    def _m_apps_connections_open(self, args):
        return {"ok": True, "url": self.root.replace("http://", "ws://") + "/socket"}

    def _check_text(self, args: dict[str, Any]) -> str | None:
        text, blocks = args.get("text") or "", args.get("blocks") or []
        if not text and not blocks:
            return "no_text"
        if len(text) > TEXT_LIMIT:
            return "msg_too_long"
        for block in blocks if isinstance(blocks, list) else []:
            t = (block.get("text") or {}).get("text", "") if isinstance(block, dict) else ""
            if block.get("type") == "section" and len(t) > SECTION_TEXT_LIMIT:
                return "invalid_blocks"
        return None

    def _m_auth_test(self, args):
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake Team", "user": "interview-bot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}

    def _m_chat_postMessage(self, args):
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in_channels:
            return {"ok": False, "error": "not_in_channel"}
        err = self._check_text(args)
        if err:
            return {"ok": False, "error": err}
        n = next(self._ts)
        ts = f"{1700000000 + n}.{n:06d}"
        msg = {"channel": channel, "ts": ts, "thread_ts": args.get("thread_ts"), "text": args.get("text", ""),
               "blocks": args.get("blocks") or [], "edits": 0, "user": self.bot_user_id, "bot_id": self.bot_id}
        if isinstance(args.get("metadata"), dict):
            msg["metadata"] = args["metadata"]
        self.messages[ts] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(msg)}

    def _m_chat_update(self, args):
        msg = self.messages.get(args.get("ts", ""))
        if msg is None or msg["channel"] != args.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        err = self._check_text(args)
        if err:
            return {"ok": False, "error": err}
        msg["text"] = args.get("text", "")
        msg["blocks"] = args.get("blocks") or []
        if isinstance(args.get("metadata"), dict):
            msg["metadata"] = args["metadata"]
        msg["edits"] += 1
        return {"ok": True, "channel": msg["channel"], "ts": msg["ts"], "text": msg["text"]}

    def _m_chat_delete(self, args):
        msg = self.messages.get(args.get("ts", ""))
        if msg is None or msg["channel"] != args.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        del self.messages[msg["ts"]]
        self.deleted.append(msg)
        return {"ok": True, "channel": msg["channel"], "ts": msg["ts"]}

    def _m_conversations_history(self, args):
        """A channel's top-level messages, newest first, up to `limit`; metadata only when asked for."""
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        limit = max(1, min(int(args.get("limit") or 100), 999))
        with_meta = str(args.get("include_all_metadata")).lower() in ("1", "true")
        newest = list(reversed(self.channel_messages(channel)))[:limit]
        return {"ok": True, "has_more": False, "messages": [
            {k: v for k, v in m.items() if k in ("ts", "text", "user", "bot_id") or (k == "metadata" and with_meta)}
            for m in newest]}

    def _m_conversations_replies(self, args):
        """A thread's parent and replies, oldest first, paged by `limit`; metadata only when asked for."""
        channel, ts = args.get("channel"), args.get("ts")
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        parent = self.messages.get(ts)
        thread = ([parent] if parent is not None else []) + self.thread(channel, ts)
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        start = int(args.get("cursor") or 0)
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        page = thread[start:start + limit]
        with_meta = str(args.get("include_all_metadata")).lower() in ("1", "true")
        messages = [{k: v for k, v in m.items() if k in ("ts", "text", "user", "bot_id", "thread_ts", "blocks")
                     or (k == "metadata" and with_meta)} for m in page]
        more = start + limit < len(thread)
        return {"ok": True, "messages": messages, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _m_chat_postEphemeral(self, args):
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": f"{time.time():.6f}"}

    def _m_users_info(self, args):
        uid = args.get("user", "")
        name = self.users.get(uid, f"user-{uid.lower()}")
        return {"ok": True, "user": {"id": uid, "name": name, "real_name": name,
                                     "profile": {"display_name": name, "real_name": name}}}

    def _m_files_getUploadURLExternal(self, args):
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        fid = f"F{next(self._files):06d}"
        return {"ok": True, "upload_url": f"{self.root}/upload/{fid}", "file_id": fid}

    def _m_files_completeUploadExternal(self, args):
        files = args.get("files") or []
        out = []
        for f in files:
            if f.get("id") not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            record = {"id": f["id"], "title": f.get("title"), "channel": args.get("channel_id"),
                      "thread_ts": args.get("thread_ts"), "size": len(self.uploads[f["id"]])}
            self.files.append(record)
            out.append({"id": f["id"], "title": f.get("title")})
        return {"ok": True, "files": out}
