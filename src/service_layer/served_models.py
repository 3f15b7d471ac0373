"""Which read models a process serves, from its settings, and for each one it leaves off the
true reason and what to do: with a broker the workers keep the read models, so a chDB path
(one process only) and the in-process store are theirs, never the API's."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from configuration.settings import Settings

MEMORY, CHDB = "memory:", "chdb:"
HOT_VIEWS_EMPTY = (
    "GLOW_HOT_VIEWS_URL is empty, which turns the hot views off; set it to "
    "redis://host:port/db (or memory:// when there is no broker)"
)
HOT_VIEWS_IN_MEMORY = (
    "GLOW_HOT_VIEWS_URL is memory://, a store inside one process; with GLOW_BROKER_URL set the "
    "workers keep the hot views, and no other process can read a worker's memory: set "
    "GLOW_HOT_VIEWS_URL=redis://host:port/db for the workers and this process"
)
ANALYTICS_EMPTY = (
    "GLOW_ANALYTICS_URL is empty, which turns analytics off; set it to chdb:///path "
    "(embedded) or http(s)://host:port (a ClickHouse server)"
)
ANALYTICS_OWNED_BY_WORKER = (
    "GLOW_ANALYTICS_URL names the chDB path {path}, which belongs to the worker that writes it "
    "(with GLOW_BROKER_URL set) and only one process can open a chDB path: point "
    "GLOW_ANALYTICS_URL at a ClickHouse server (http(s)://...) for the worker and this process, "
    "or read the path after the worker has stopped"
)


@dataclass(frozen=True)
class Served:
    """What this process opens of one read model (None: off), and if off, why."""

    url: str | None
    why_off: str = ""


def served_hot_views(settings: Settings) -> Served:
    url = settings.hot_views_url
    if url is None:
        return Served(None, HOT_VIEWS_EMPTY)
    if settings.broker_url is not None and url.startswith(MEMORY):
        return Served(None, HOT_VIEWS_IN_MEMORY)
    return Served(url)


def served_analytics(settings: Settings) -> Served:
    url = settings.analytics_url
    if url is None:
        return Served(None, ANALYTICS_EMPTY)
    if settings.broker_url is not None and url.startswith(CHDB):
        return Served(None, ANALYTICS_OWNED_BY_WORKER.format(path=chdb_path(url)))
    return Served(url)


def chdb_path(url: str) -> str:
    return unquote(urlsplit(url).path)
