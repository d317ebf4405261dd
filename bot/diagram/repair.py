"""Local repairs for a graph that is almost right: pure helpers the model validators call.

A language model's graph is usually right in substance and wrong in a detail: a label a few
characters too long, a kind spelled its own way ("Postgres", "CDN", "batch job"), the same
call listed twice.  Those are fixed here, each fix noted, so no repair call is spent on them.
"""
from __future__ import annotations

import difflib
from enum import StrEnum

ELLIPSIS = "…"


class Kind(StrEnum):
    """The node kinds (re-exported as `NodeKind`)."""
    client = "client"
    service = "service"
    gateway = "gateway"      # gateway / load balancer
    cache = "cache"
    database = "database"
    queue = "queue"          # queue / stream
    storage = "storage"      # blob / object store
    external = "external"    # external system
    worker = "worker"


# Spellings a model may use for a kind, and words in a kind or label that point to one.
KIND_ALIASES: dict[str, Kind] = {
    "db": Kind.database, "sql": Kind.database, "nosql": Kind.database, "datastore": Kind.database,
    "lb": Kind.gateway, "load_balancer": Kind.gateway, "loadbalancer": Kind.gateway,
    "load balancer": Kind.gateway, "api_gateway": Kind.gateway, "proxy": Kind.gateway, "cdn": Kind.gateway,
    "stream": Kind.queue, "topic": Kind.queue, "broker": Kind.queue, "pubsub": Kind.queue,
    "message_queue": Kind.queue,
    "blob": Kind.storage, "object_store": Kind.storage, "objectstore": Kind.storage, "s3": Kind.storage,
    "bucket": Kind.storage,
    "ext": Kind.external, "third_party": Kind.external, "thirdparty": Kind.external,
    "user": Kind.client, "browser": Kind.client, "mobile": Kind.client,
    "job": Kind.worker, "consumer": Kind.worker, "cron": Kind.worker,
    "server": Kind.service, "app": Kind.service, "api": Kind.service, "microservice": Kind.service,
}
_KIND_WORDS: dict[str, Kind] = {
    "database": Kind.database, "postgres": Kind.database, "postgresql": Kind.database, "mysql": Kind.database,
    "mongo": Kind.database, "mongodb": Kind.database, "dynamo": Kind.database, "dynamodb": Kind.database,
    "cassandra": Kind.database, "elasticsearch": Kind.database, "index": Kind.database, "ledger": Kind.database,
    "table": Kind.database, "warehouse": Kind.database, "db": Kind.database, "sql": Kind.database,
    "redis": Kind.cache, "memcached": Kind.cache, "cache": Kind.cache,
    "kafka": Kind.queue, "sqs": Kind.queue, "rabbitmq": Kind.queue, "kinesis": Kind.queue, "queue": Kind.queue,
    "stream": Kind.queue, "topic": Kind.queue, "bus": Kind.queue, "log": Kind.queue,
    "blob": Kind.storage, "bucket": Kind.storage, "s3": Kind.storage, "storage": Kind.storage,
    "object": Kind.storage, "files": Kind.storage, "gcs": Kind.storage,
    "gateway": Kind.gateway, "balancer": Kind.gateway, "lb": Kind.gateway, "proxy": Kind.gateway,
    "cdn": Kind.gateway, "edge": Kind.gateway, "ingress": Kind.gateway, "nginx": Kind.gateway,
    "client": Kind.client, "browser": Kind.client, "mobile": Kind.client, "user": Kind.client,
    "users": Kind.client, "ios": Kind.client, "android": Kind.client, "frontend": Kind.client,
    "external": Kind.external, "third": Kind.external, "provider": Kind.external, "partner": Kind.external,
    "bank": Kind.external, "stripe": Kind.external, "psp": Kind.external, "vendor": Kind.external,
    "worker": Kind.worker, "job": Kind.worker, "cron": Kind.worker, "batch": Kind.worker,
    "consumer": Kind.worker, "scheduler": Kind.worker, "processor": Kind.worker, "pipeline": Kind.worker,
    "service": Kind.service, "server": Kind.service, "api": Kind.service,
}
_STYLE_ALIASES = {"synchronous": "sync", "asynchronous": "async", "request": "sync", "event": "async"}
_ASYNC_WORDS = ("async", "event", "message", "queue", "publish", "pub", "stream", "notify", "push", "fire")


def squash(text: str) -> str:
    """Whitespace runs as one space, ends stripped."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis; at a word break when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if text[limit - 1] not in " ,;:" and space >= limit * 2 // 3:     # not already at a word's end
        cut = cut[:space]
    return cut.rstrip(" ,;:-/") + ELLIPSIS


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()


def exact_kind(raw: str) -> Kind | None:
    """The kind `raw` names exactly or by a known alias, else None."""
    k = raw.strip().lower().replace("-", "_")
    if k in Kind.__members__:
        return Kind(k)
    return KIND_ALIASES.get(k) or KIND_ALIASES.get(k.replace("_", " "))


def nearest_kind(raw: str, label: str = "") -> Kind:
    """The kind nearest to an unknown spelling: a telling word in it (then in the label), then the
    closest spelling; a plain service when nothing points anywhere."""
    for text in (raw, label):
        for w in reversed(_words(text)):       # the last word usually names the thing ("Redis cache")
            if w in _KIND_WORDS:
                return _KIND_WORDS[w]
    names = list(Kind.__members__) + list(KIND_ALIASES)
    close = difflib.get_close_matches(raw.strip().lower(), names, n=1, cutoff=0.75)
    if close:
        return exact_kind(close[0]) or Kind.service
    return Kind.service


def exact_style(raw: str) -> str | None:
    s = raw.strip().lower()
    s = _STYLE_ALIASES.get(s, s)
    return s if s in ("sync", "async") else None


def nearest_style(raw: str) -> str:
    low = raw.lower()
    return "async" if any(w in low for w in _ASYNC_WORDS) else "sync"


def nearest_id(name: str, ids: list[str]) -> str | None:
    """An existing node id that `name` plainly misspells (users_db for user_db), else None."""
    close = difflib.get_close_matches(name, ids, n=2, cutoff=0.85)
    return close[0] if len(close) == 1 else None


def join_labels(labels: list[str], limit: int) -> str:
    """Labels of merged duplicate edges: each once, in order, shortened to fit `limit`."""
    out: list[str] = []
    for lab in labels:
        if lab and lab not in out:
            out.append(lab)
    return shorten(", ".join(out), limit)
