"""A local fake of Discord (REST API + gateway), served by aiohttp.

The real ``discord.py`` client logs in to it: point ``discord.http.Route.BASE``
at ``fake.api_base`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` at
``fake.gateway_url`` (the adapter does both from its settings).

What it speaks:

* REST under ``/api/v10``: ``GET /users/@me``, ``GET /oauth2/applications/@me``,
  command sync (``PUT /applications/{app}/commands`` and the guild variant),
  the interaction callback (3-second deadline, one response per interaction),
  webhook edits/follow-ups of the interaction response, thread creation
  (``POST /channels/{id}/threads``), thread members, messages (JSON or
  multipart with files), message edits, typing, ``GET /channels/{id}``.
  Every call is recorded in ``calls`` (method, path, JSON payload - for
  multipart the ``payload_json`` part - file names, status, time).
  Responses carry ``Content-Type: application/json`` exactly, and Discord's
  rate-limit headers (5 requests per 5 s per channel for message posts and
  edits, like the real per-channel limit); a request over the limit gets a 429
  with ``retry_after`` and a ``Via`` header.  ``rate_limit(...)`` injects 429s.
* The gateway WebSocket at ``/gateway``: HELLO (heartbeat_interval),
  IDENTIFY -> READY (``resume_gateway_url`` points back here) + GUILD_CREATE,
  sharded like Discord: an IDENTIFY with ``shard: [id, count]`` gets only the
  guilds with ``(guild_id >> 22) % count == id``, and every guild event goes
  only to the connection of its guild's shard (``GET /gateway/bot`` names
  ``recommended_shards``; ``add_guild`` adds a guild with one text channel),
  HEARTBEAT -> HEARTBEAT_ACK, RESUME -> RESUMED, close 4004 for a bad token and
  4014 when a privileged intent (message content) is asked for but not granted.
  ``compress=zlib-stream`` is honoured (one zlib stream per connection,
  Z_SYNC_FLUSH per frame); otherwise plain text frames.
* Test drivers: ``slash(...)`` and ``press(...)`` dispatch INTERACTION_CREATE,
  ``say(...)`` dispatches a member's MESSAGE_CREATE; the bot's own messages and
  new threads are echoed back as MESSAGE_CREATE / THREAD_CREATE like Discord does.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import re
import time
import zlib
from typing import Any, Callable

from aiohttp import WSMsgType, web

API = "/api/v10"
GUILD_ID = 900000000000000001
CHANNEL_ID = 900000000000000010
# A second guild, on the other shard of two: (GUILD_ID >> 22) % 2 == 1, (SECOND_GUILD_ID >> 22) % 2 == 0.
SECOND_GUILD_ID = GUILD_ID - (1 << 22)
SECOND_CHANNEL_ID = 900000000000000020
VOICE_CHANNEL_ID = 900000000000000011
APP_ID = 900000000000000100
BOT_ID = APP_ID
OWNER_ID = 900000000000000200
TOKEN = "fake-bot-token"

# Application flags (GET /oauth2/applications/@me, READY.application.flags).
FLAG_GATEWAY_MESSAGE_CONTENT = 1 << 18
FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
INTENT_MESSAGE_CONTENT = 1 << 15

ALL_PERMISSIONS = (1 << 50) - 1
ADMINISTRATOR = 1 << 3

_snowflakes = itertools.count(1_000_000_000_000_000_000 // 1000)


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's shard formula."""
    return (int(guild_id) >> 22) % max(1, shard_count)


def snowflake() -> int:
    return next(_snowflakes)


def _ts() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


@dataclasses.dataclass
class Call:
    method: str
    path: str
    json: Any = None
    files: list[str] = dataclasses.field(default_factory=list)
    query: dict[str, str] = dataclasses.field(default_factory=dict)
    status: int = 200
    at: float = 0.0

    def __repr__(self) -> str:  # short, for assertion messages
        return f"<{self.method} {self.path} {self.status}>"


@dataclasses.dataclass
class InjectedLimit:
    method: str
    pattern: re.Pattern
    times: int
    retry_after: float
    is_global: bool = False


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
            "bot": bot, "public_flags": 0, "flags": 0}


def member_payload(user: dict, *, permissions: int | None = None) -> dict:
    out = {"user": user, "roles": [], "joined_at": _ts(), "deaf": False, "mute": False, "flags": 0,
           "nick": None, "avatar": None, "premium_since": None, "pending": False, "communication_disabled_until": None}
    if permissions is not None:
        out["permissions"] = str(permissions)
    return out


class _Conn:
    """One gateway connection."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None):
        self.ws = ws
        self.seq = 0
        self.session_id: str | None = None
        self.identified = False
        self.shard = (0, 1)   # (shard id, shard count) from IDENTIFY
        self._z = zlib.compressobj() if compress == "zlib-stream" else None

    def serves(self, guild_id: int | None) -> bool:
        """Like Discord: a guild's events go to its shard, direct messages to shard 0."""
        if guild_id is None:
            return self.shard[0] == 0
        return shard_of(guild_id, self.shard[1]) == self.shard[0]

    async def send(self, payload: dict) -> None:
        text = json.dumps(payload)
        if self._z is not None:
            data = self._z.compress(text.encode()) + self._z.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(text)

    async def dispatch(self, event: str, data: dict) -> None:
        self.seq += 1
        await self.send({"op": 0, "t": event, "s": self.seq, "d": data})


class FakeDiscord:
    def __init__(self, *, token: str = TOKEN, app_flags: int = FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED,
                 heartbeat_interval_ms: int = 41250, per_channel_limit: int = 5, per_channel_window: float = 5.0,
                 interaction_deadline: float = 3.0):
        self.token = token
        self.app_flags = app_flags
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.per_channel_limit = per_channel_limit
        self.per_channel_window = per_channel_window
        self.interaction_deadline = interaction_deadline
        self.calls: list[Call] = []
        self.ratelimited: list[Call] = []           # every 429 we answered
        self.identifies: list[dict] = []            # IDENTIFY payloads (intents etc.)
        self.gateway_queries: list[dict] = []       # query strings the client connected with
        self.heartbeats = 0
        self.resumes = 0
        self.commands: dict[str, list[dict]] = {}   # "global" or guild id -> synced commands
        self.channels: dict[int, dict] = {}
        self.messages: dict[int, dict] = {}         # id -> message payload (current version)
        self.interactions: dict[int, dict] = {}     # id -> {"sent_at", "acked_at", "callback", "payload"}
        self.typing: list[tuple[int, float]] = []
        self.bot_user = user_payload(BOT_ID, "InterviewBot", bot=True)
        self.owner = user_payload(OWNER_ID, "owner")
        self.members: dict[int, dict] = {}
        self._conns: list[_Conn] = []
        self._injected: list[InjectedLimit] = []
        self._faults: list[list] = []   # [method, pattern, times, status, delay]
        self._windows: dict[tuple, tuple[float, int]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.cdn: dict[str, bytes] = {}
        self.nonces: dict[tuple[int, str], int] = {}   # (channel, nonce) -> message id, for enforce_nonce
        self.guild_id = GUILD_ID
        self.guild_names: dict[int, str] = {GUILD_ID: "Test Guild"}
        self.recommended_shards = 1
        self.threads_in_guild_create = True   # False: like archived threads, unknown to a fresh client
        self.channel_id = CHANNEL_ID
        self.channels[CHANNEL_ID] = {
            "id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "interviews", "position": 0,
            "permission_overwrites": [], "topic": None, "nsfw": False, "parent_id": None,
            "rate_limit_per_user": 0, "last_message_id": None, "default_auto_archive_duration": 1440, "flags": 0}
        self.channels[VOICE_CHANNEL_ID] = {
            "id": str(VOICE_CHANNEL_ID), "type": 2, "guild_id": str(GUILD_ID), "name": "voice", "position": 1,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "bitrate": 64000, "user_limit": 0,
            "rtc_region": None, "flags": 0}
        self.add_member(OWNER_ID, "owner")

    # ------------------------------------------------------------ lifecycle
    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"

    async def start(self) -> "FakeDiscord":
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{aid}/{name}", self._cdn)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeDiscord":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------- helpers
    def add_member(self, user_id: int, name: str, *, bot: bool = False) -> dict:
        member = member_payload(user_payload(user_id, name, bot=bot))
        self.members[user_id] = member
        return member

    def add_guild(self, guild_id: int = SECOND_GUILD_ID, channel_id: int = SECOND_CHANNEL_ID,
                  name: str = "Second Guild") -> None:
        """Another guild the bot is in, with one text channel (send before the bot connects)."""
        self.guild_names[guild_id] = name
        self.channels[channel_id] = {
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "interviews", "position": 0,
            "permission_overwrites": [], "topic": None, "nsfw": False, "parent_id": None,
            "rate_limit_per_user": 0, "last_message_id": None, "default_auto_archive_duration": 1440, "flags": 0}

    def guild_of(self, channel_id: int | None) -> int:
        channel = self.channels.get(int(channel_id)) if channel_id else None
        return int(channel["guild_id"]) if channel and channel.get("guild_id") else GUILD_ID

    def guild_payload(self, guild_id: int = GUILD_ID) -> dict:
        everyone = {"id": str(guild_id), "name": "@everyone", "permissions": str(ALL_PERMISSIONS & ~ADMINISTRATOR),
                    "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        mine = [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)]
        guild_channels = [c for c in mine if c["type"] in (0, 2)]
        threads = [c for c in mine if c["type"] in (11, 12)]
        return {
            "id": str(guild_id), "name": self.guild_names[guild_id], "icon": None, "owner_id": str(OWNER_ID), "unavailable": False,
            "roles": [everyone], "emojis": [], "stickers": [], "features": [], "channels": guild_channels,
            "threads": threads if self.threads_in_guild_create else [], "members": [member_payload(self.bot_user)] + list(self.members.values()),
            "member_count": len(self.members) + 1, "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "large": False, "joined_at": _ts(),
            "preferred_locale": "en-US", "premium_tier": 0, "mfa_level": 0, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "afk_timeout": 300,
            "system_channel_flags": 0, "nsfw_level": 0, "premium_progress_bar_enabled": False,
        }

    def threads(self) -> list[dict]:
        return [c for c in self.channels.values() if c["type"] in (11, 12)]

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        rx = re.compile(pattern)
        return [c for c in self.calls if c.method == method and rx.fullmatch(c.path)]

    def thread_messages(self, thread_id: int) -> list[dict]:
        """The bot's messages in a channel/thread, in order, as they look now (edits applied)."""
        return [m for m in self.messages.values() if int(m["channel_id"]) == int(thread_id)
                and m["author"]["id"] == str(BOT_ID)]

    def thread_text(self, thread_id: int) -> str:
        return "\n".join(m["content"] for m in self.thread_messages(thread_id))

    def rate_limit(self, method: str, path_pattern: str, *, times: int = 1, retry_after: float = 0.3,
                   is_global: bool = False) -> None:
        """Answer the next `times` matching requests with a 429."""
        self._injected.append(InjectedLimit(method, re.compile(path_pattern), times, retry_after, is_global))

    def fail(self, method: str, path_pattern: str, *, times: int = 1, status: int = 500, delay: float = 0.0) -> None:
        """Answer the next `times` matching requests with `status` (after hanging `delay` seconds)."""
        self._faults.append([method, re.compile(path_pattern), times, status, delay])

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: {self.calls[-15:]}")
            await asyncio.sleep(0.01)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: any(c.identified for c in self._conns), timeout, "IDENTIFY")

    # ----------------------------------------------------------- dispatching
    async def dispatch(self, event: str, data: dict) -> None:
        guild = data.get("guild_id")
        for conn in list(self._conns):
            if conn.identified and not conn.ws.closed and conn.serves(int(guild) if guild else None):
                try:
                    await conn.dispatch(event, data)
                except ConnectionError:
                    pass

    def _channel_summary(self, channel_id: int) -> dict:
        ch = self.channels.get(int(channel_id))
        if ch is None:
            return {"id": str(channel_id), "type": 1}
        return ch

    async def slash(self, name: str, options: dict[str, str] | None = None, *, channel_id: int | None = None,
                    user_id: int = OWNER_ID, guild: bool = True, app_permissions: int = ALL_PERMISSIONS & ~ADMINISTRATOR,
                    interaction_id: int | None = None) -> int:
        """A member runs a slash command; returns the interaction id."""
        data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1,
                                "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]}
        if guild:
            data["guild_id"] = str(self.guild_of(channel_id))
        return await self._interaction(2, data, channel_id=channel_id, user_id=user_id, guild=guild,
                                       app_permissions=app_permissions, interaction_id=interaction_id)

    async def autocomplete(self, name: str, option: str, typed: str, *, user_id: int = OWNER_ID) -> int:
        """A member types into a command option that has autocomplete; returns the interaction id."""
        data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1, "guild_id": str(GUILD_ID),
                                "options": [{"name": option, "type": 3, "value": typed, "focused": True}]}
        return await self._interaction(4, data, channel_id=None, user_id=user_id, guild=True)

    async def press(self, message_id: int, custom_id: str, *, user_id: int = OWNER_ID,
                    interaction_id: int | None = None) -> int:
        """A member presses a button on a message; returns the interaction id."""
        message = self.messages[int(message_id)]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interaction(3, data, channel_id=int(message["channel_id"]), user_id=user_id, guild=True,
                                       message=message, interaction_id=interaction_id)

    async def _interaction(self, itype: int, data: dict, *, channel_id: int | None, user_id: int, guild: bool,
                           app_permissions: int = ALL_PERMISSIONS & ~ADMINISTRATOR, message: dict | None = None,
                           interaction_id: int | None = None) -> int:
        iid = interaction_id or snowflake()
        token = f"itoken-{iid}"
        gid = self.guild_of(channel_id)
        user = self.members.get(user_id, {}).get("user") or user_payload(user_id, f"user{user_id}")
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(APP_ID), "type": itype, "data": data, "token": token,
            "version": 1, "locale": "en-US", "entitlements": [], "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str(app_permissions), "authorizing_integration_owners": {"0": str(gid)},
        }
        if guild:
            cid = channel_id or CHANNEL_ID
            payload.update(guild_id=str(gid), guild_locale="en-US", context=0,
                           channel_id=str(cid), channel=self._channel_summary(cid),
                           member=member_payload(user, permissions=ALL_PERMISSIONS & ~ADMINISTRATOR),
                           guild={"id": str(gid), "locale": "en-US", "features": []})
        else:
            cid = channel_id or snowflake()
            payload.update(context=1, channel_id=str(cid),
                           channel={"id": str(cid), "type": 1, "recipients": [user]}, user=user)
        if message is not None:
            payload["message"] = message
        if iid not in self.interactions:
            self.interactions[iid] = {"sent_at": time.monotonic(), "acked_at": None, "callback": None,
                                      "payload": payload, "token": token}
        await self.dispatch("INTERACTION_CREATE", payload)
        return iid

    def attachment(self, filename: str, data: bytes, content_type: str) -> dict:
        """An attachment object (as in a message) whose bytes this fake serves from its CDN route."""
        aid = snowflake()
        self.cdn[str(aid)] = data
        url = f"{self.base_url}/cdn/{aid}/{filename}"
        return {"id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type}

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["aid"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def say(self, channel_id: int, content: str, *, user_id: int = OWNER_ID, bot: bool = False,
                  message_id: int | None = None, attachments: list[dict] | None = None) -> int:
        """A member (or another bot) posts in a channel/thread; returns the message id."""
        if user_id not in self.members:
            self.add_member(user_id, f"user{user_id}", bot=bot)
        member = self.members[user_id]
        mid = message_id or snowflake()
        msg = self._message(int(channel_id), content, author=member["user"], mid=mid, attachments=attachments)
        msg["member"] = {k: v for k, v in member.items() if k != "user"}
        self.messages[mid] = msg
        await self.dispatch("MESSAGE_CREATE", msg)
        return mid

    def _message(self, channel_id: int, content: str, *, author: dict, mid: int | None = None,
                 components: list | None = None, attachments: list | None = None) -> dict:
        ch = self.channels.get(channel_id, {})
        msg = {"id": str(mid or snowflake()), "channel_id": str(channel_id), "author": author, "content": content,
               "timestamp": _ts(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
               "mentions": [], "mention_roles": [], "attachments": attachments or [], "embeds": [], "pinned": False,
               "type": 0, "flags": 0, "components": components or []}
        if ch.get("guild_id"):
            msg["guild_id"] = ch["guild_id"]
        return msg

    # ---------------------------------------------------------------- gateway
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        self.gateway_queries.append(query)
        conn = _Conn(ws, query.get("compress"))
        self._conns.append(conn)
        try:
            await conn.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, d = frame.get("op"), frame.get("d")
                if op == 1:
                    self.heartbeats += 1
                    await conn.send({"op": 11})
                elif op == 2:
                    self.identifies.append(d)
                    if d.get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    granted = self.app_flags & (FLAG_GATEWAY_MESSAGE_CONTENT | FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED)
                    if int(d.get("intents", 0)) & INTENT_MESSAGE_CONTENT and not granted:
                        await ws.close(code=4014, message=b"Disallowed intent(s).")
                        break
                    conn.identified = True
                    conn.session_id = f"session-{snowflake()}"
                    shard = d.get("shard") or [0, 1]
                    conn.shard = (int(shard[0]), int(shard[1]))
                    guilds = [g for g in self.guild_names if conn.serves(g)]
                    await conn.dispatch("READY", {
                        "v": 10, "user": self.bot_user, "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
                        "session_id": conn.session_id, "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(APP_ID), "flags": self.app_flags},
                        "private_channels": [], "relationships": [], "shard": list(conn.shard)})
                    for g in guilds:
                        await conn.dispatch("GUILD_CREATE", self.guild_payload(g))
                elif op == 6:
                    self.resumes += 1
                    conn.identified = True
                    conn.session_id = (d or {}).get("session_id")
                    conn.seq = int((d or {}).get("seq") or 0)
                    await conn.dispatch("RESUMED", {})
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
        return ws

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway connection (the client reconnects and RESUMEs)."""
        for conn in list(self._conns):
            await conn.ws.close(code=code, message=b"test drop")

    # ------------------------------------------------------------------- REST
    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
        return web.Response(status=status, body=json.dumps(data).encode(), headers={
            "Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return self._json({"code": code, "message": message}, status)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[str], list[bytes]]:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            payload, names, datas = None, [], []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    datas.append(await part.read())
                    names.append(part.filename or part.name)
            return payload, names, datas
        raw = await request.read()
        if not raw:
            return None, [], []
        return json.loads(raw), [], []

    def _bucket(self, method: str, path: str) -> tuple[str, str] | None:
        m = re.fullmatch(r"/channels/(\d+)/messages(/\d+)?", path)
        if m and method in ("POST", "PATCH"):
            return (f"{method}-messages", m.group(1))
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        payload, files, datas = await self._read_body(request)
        call = Call(method, path, payload, files, dict(request.query), at=time.monotonic())
        self.calls.append(call)
        if request.headers.get("Authorization") != f"Bot {self.token}" and not path.startswith(("/interactions/", "/webhooks/")):
            call.status = 401
            return self._error(401, 0, "401: Unauthorized")

        for fault in self._faults:
            if fault[2] > 0 and fault[0] == method and fault[1].fullmatch(path):
                fault[2] -= 1
                if fault[4]:
                    await asyncio.sleep(fault[4])
                call.status = fault[3]
                return self._error(fault[3], 0, f"{fault[3]}: injected fault")
        # Injected 429s first, then the per-channel limit with real headers.
        for inj in self._injected:
            if inj.times > 0 and inj.method == method and inj.pattern.fullmatch(path):
                inj.times -= 1
                return self._too_many(call, inj.retry_after, inj.is_global)
        headers: dict[str, str] = {}
        bucket = self._bucket(method, path)
        if bucket is not None:
            now = time.monotonic()
            start, count = self._windows.get(bucket, (now, 0))
            if now - start >= self.per_channel_window:
                start, count = now, 0
            reset_after = max(0.001, self.per_channel_window - (now - start))
            if count >= self.per_channel_limit:
                return self._too_many(call, reset_after, False)
            count += 1
            self._windows[bucket] = (start, count)
            headers = {"X-RateLimit-Limit": str(self.per_channel_limit),
                       "X-RateLimit-Remaining": str(self.per_channel_limit - count),
                       "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                       "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                       "X-RateLimit-Bucket": f"fake-{bucket[0]}"}
        resp = await self._route(call, request, payload, files, datas)
        call.status = resp.status
        for k, v in headers.items():
            resp.headers[k] = v
        return resp

    def _too_many(self, call: Call, retry_after: float, is_global: bool) -> web.Response:
        call.status = 429
        self.ratelimited.append(call)
        return self._json({"message": "You are being rate limited.", "retry_after": round(retry_after, 3),
                           "global": is_global}, 429,
                          {"Via": "1.1 google", "Retry-After": str(max(1, int(retry_after + 0.999))),
                           "X-RateLimit-Scope": "shared" if not is_global else "global"})

    async def _route(self, call: Call, request: web.Request, payload: Any, files: list[str],
                     datas: list[bytes]) -> web.Response:
        method, path = call.method, call.path
        if method == "GET" and path == "/users/@me":
            return self._json(self.bot_user | {"verified": True, "mfa_enabled": False})
        if method == "GET" and path == "/oauth2/applications/@me":
            return self._json({"id": str(APP_ID), "name": "InterviewBot", "description": "", "icon": None,
                               "bot_public": True, "bot_require_code_grant": False, "owner": self.owner,
                               "verify_key": "0" * 64, "flags": self.app_flags, "team": None,
                               "interactions_endpoint_url": None, "summary": ""})
        if method == "GET" and path == "/gateway/bot":
            return self._json({"url": self.gateway_url, "shards": self.recommended_shards,
                               "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                       "max_concurrency": 1}})
        m = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if m and method == "PUT":
            scope = m.group(2) or "global"
            out = []
            for cmd in payload or []:
                out.append({**cmd, "id": str(snowflake()), "application_id": m.group(1), "version": "1",
                            **({"guild_id": scope} if scope != "global" else {})})
            self.commands[scope] = out
            return self._json(out)
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if m and method == "POST":
            return self._callback(int(m.group(1)), m.group(2), payload, files, datas)
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path)
        if m:
            return self._original(m.group(2), method, payload)
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)", path)
        if m and method == "POST":
            info = self._by_token(m.group(2))
            if info is None:
                return self._error(404, 10015, "Unknown Webhook")
            msg = self._message(int(info["payload"]["channel_id"]), (payload or {}).get("content", ""),
                                author=self.bot_user)
            self.messages[int(msg["id"])] = msg
            return self._json(msg)
        m = re.fullmatch(r"/channels/(\d+)/threads", path)
        if m and method == "POST":
            return await self._create_thread(int(m.group(1)), payload or {})
        m = re.fullmatch(r"/channels/(\d+)/thread-members/(@me|\d+)", path)
        if m and method == "PUT":
            return web.Response(status=204)
        m = re.fullmatch(r"/channels/(\d+)/typing", path)
        if m and method == "POST":
            self.typing.append((int(m.group(1)), time.monotonic()))
            return web.Response(status=204)
        m = re.fullmatch(r"/channels/(\d+)", path)
        if m and method == "GET":
            ch = self.channels.get(int(m.group(1)))
            return self._json(ch) if ch else self._error(404, 10003, "Unknown Channel")
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if m and method == "POST":
            cid = int(m.group(1))
            if cid not in self.channels:
                return self._error(404, 10003, "Unknown Channel")
            p = payload or {}
            nonce = (cid, str(p.get("nonce"))) if p.get("enforce_nonce") and p.get("nonce") else None
            if nonce is not None and nonce in self.nonces:   # Discord answers with the message already made
                return self._json(self.messages[self.nonces[nonce]])
            atts = [{"id": str(snowflake()), "filename": n, "size": len(d), "url": f"https://cdn.fake/{n}",
                     "proxy_url": f"https://cdn.fake/{n}", "content_type": "image/png"} for n, d in zip(files, datas)]
            msg = self._message(cid, p.get("content") or "", author=self.bot_user,
                                components=p.get("components") or [], attachments=atts)
            self.messages[int(msg["id"])] = msg
            if nonce is not None:
                self.nonces[nonce] = int(msg["id"])
            ch = self.channels[cid]
            ch["last_message_id"] = msg["id"]
            if "message_count" in ch:
                ch["message_count"] += 1
            asyncio.get_running_loop().create_task(self.dispatch("MESSAGE_CREATE", msg))
            return self._json(msg)
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if m and method == "PATCH":
            msg = self.messages.get(int(m.group(2)))
            if msg is None:
                return self._error(404, 10008, "Unknown Message")
            self._apply_edit(msg, payload or {}, files, datas)
            return self._json(msg)
        return self._error(404, 0, f"404: Not Found ({method} {path})")

    def _apply_edit(self, msg: dict, p: dict, files: list[str], datas: list[bytes]) -> None:
        if "content" in p:
            msg["content"] = p["content"] or ""
        if "components" in p:
            msg["components"] = p["components"] or []
        if files:
            msg["attachments"] = [{"id": str(snowflake()), "filename": n, "size": len(d),
                                   "url": f"https://cdn.fake/{n}", "proxy_url": f"https://cdn.fake/{n}"}
                                  for n, d in zip(files, datas)]
        msg["edited_timestamp"] = _ts()

    def _by_token(self, token: str) -> dict | None:
        for info in self.interactions.values():
            if info["token"] == token:
                return info
        return None

    def _callback(self, iid: int, token: str, payload: Any, files: list[str], datas: list[bytes]) -> web.Response:
        info = self.interactions.get(iid)
        if info is None or info["token"] != token:
            return self._error(404, 10062, "Unknown interaction")
        now = time.monotonic()
        if info["acked_at"] is not None:
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        if now - info["sent_at"] > self.interaction_deadline:
            return self._error(404, 10062, "Unknown interaction")
        info["acked_at"], info["callback"] = now, payload
        rtype = payload.get("type")
        data = payload.get("data") or {}
        ipayload = info["payload"]
        out: dict[str, Any] = {"interaction": {"id": str(iid), "type": ipayload["type"],
                                               "response_message_loading": rtype == 5,
                                               "response_message_ephemeral": bool((data.get("flags") or 0) & 64)}}
        if rtype in (4, 5):
            msg = self._message(int(ipayload["channel_id"]), data.get("content") or "", author=self.bot_user,
                                components=data.get("components") or [])
            msg["flags"] = data.get("flags") or 0
            msg["interaction_metadata"] = {"id": str(iid), "type": ipayload["type"],
                                           "user": (ipayload.get("member") or {}).get("user") or ipayload.get("user")}
            self.messages[int(msg["id"])] = msg
            info["message_id"] = int(msg["id"])
            out["interaction"]["response_message_id"] = msg["id"]
            out["resource"] = {"type": rtype, "message": msg}
        elif rtype == 7 and ipayload.get("message"):
            msg = self.messages.get(int(ipayload["message"]["id"]))
            if msg is not None:
                self._apply_edit(msg, data, files, datas)
            out["resource"] = {"type": 7}
        else:
            out["resource"] = {"type": rtype}
        return self._json(out)

    def _original(self, token: str, method: str, payload: Any) -> web.Response:
        info = self._by_token(token)
        if info is None or info.get("message_id") is None:
            return self._error(404, 10008, "Unknown Message")
        msg = self.messages[info["message_id"]]
        if method == "PATCH":
            self._apply_edit(msg, payload or {}, [], [])
        elif method == "DELETE":
            self.messages.pop(info["message_id"], None)
            return web.Response(status=204)
        return self._json(msg)

    async def _create_thread(self, channel_id: int, p: dict) -> web.Response:
        parent = self.channels.get(channel_id)
        if parent is None:
            return self._error(404, 10003, "Unknown Channel")
        if parent["type"] != 0:
            return self._error(400, 50024, "Cannot execute action on this channel type")
        ttype = int(p.get("type") or 12)   # the API's default for a thread without a message is private
        tid = snowflake()
        thread = {"id": str(tid), "type": ttype, "guild_id": parent["guild_id"], "parent_id": str(channel_id),
                  "owner_id": str(BOT_ID), "name": p.get("name", ""), "last_message_id": None,
                  "message_count": 0, "member_count": 1, "rate_limit_per_user": p.get("rate_limit_per_user") or 0,
                  "flags": 0, "total_message_sent": 0,
                  "thread_metadata": {"archived": False, "locked": False,
                                      "auto_archive_duration": p.get("auto_archive_duration") or 1440,
                                      "archive_timestamp": _ts(), "create_timestamp": _ts(),
                                      **({"invitable": bool(p.get("invitable", True))} if ttype == 12 else {})},
                  "member": {"id": str(tid), "user_id": str(BOT_ID), "join_timestamp": _ts(), "flags": 0}}
        self.channels[tid] = thread
        asyncio.get_running_loop().create_task(self.dispatch("THREAD_CREATE", {**thread, "newly_created": True}))
        return self._json(thread, 201)
