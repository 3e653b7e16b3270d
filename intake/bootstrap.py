"""The composition root: Settings -> one adapter per port, real when its credentials are set.

The only module that imports adapters. Services are built lazily, once per worker process, and
heavy SDKs load only inside the real adapters, on first use (cold start stays short).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from intake.adapters.local_board import SqliteBoard
from intake.adapters.local_channel import SqliteChannel
from intake.adapters.local_outbox import SqliteOutbox
from intake.adapters.local_queue import SqliteQueue
from intake.adapters.local_store import SqliteStore
from intake.adapters.sqlite_db import Database
from intake.config import Settings, load_field_map, load_settings
from intake.models import Identity
from intake.ports import Services

_lock = threading.Lock()
_services: Services | None = None
_bot: Any = None


def services() -> Services:
    """The worker's services, built on first use from the environment's settings."""
    global _services
    with _lock:
        if _services is None:
            _services = build(load_settings())
        return _services


def bot() -> Any:
    """The Teams bot endpoint (``intake.adapters.teams_bot.TeamsBot``) over the worker's
    services, built on first use (the Agents SDK loads then, not at cold start)."""
    global _bot
    current = services()
    with _lock:
        if _bot is None or _bot.services is not current:
            from intake.adapters.teams_bot import TeamsBot

            _bot = TeamsBot(current)
        return _bot


def override(new: Services | None) -> None:
    """Use ``new`` as this worker's services (tests, the local host); None forgets them."""
    global _services
    with _lock:
        _services = new


def build(settings: Settings, **overrides: Any) -> Services:
    """One adapter per port from ``settings``; keyword overrides replace single ports."""
    database: Database | None = None

    def local_db() -> Database:  # opened only if some port runs locally
        nonlocal database
        if database is None:
            database = Database(settings.database_path)
        return database

    def port(name: str, choose: Any) -> Any:
        return overrides[name] if name in overrides else choose(settings, local_db)

    return Services(
        settings=settings,
        store=port("store", _store),
        queue=port("queue", _queue),
        work_items=port("work_items", _work_items),
        mailer=port("mailer", _mailer),
        channel=port("channel", _channel),
        field_maps=overrides.get("field_maps") or load_field_map(settings.field_map_path),
    )


def local_identities(settings: Settings) -> list[Identity]:
    """The local people as DevOps identities (the local board's identity directory)."""
    return [Identity(p.aad_object_id, p.name, str(p.email)) for p in settings.people]


LocalDb = Callable[[], Database]


def _store(settings: Settings, local_db: LocalDb) -> Any:
    return SqliteStore(local_db())


def _queue(settings: Settings, local_db: LocalDb) -> Any:
    return SqliteQueue(local_db(), settings.steps_queue)


def _work_items(settings: Settings, local_db: LocalDb) -> Any:
    return SqliteBoard(
        local_db(),
        base_url=settings.base_url,
        people=local_identities(settings),
        initial_state=settings.state_new,
    )


def _mailer(settings: Settings, local_db: LocalDb) -> Any:
    return SqliteOutbox(local_db())


def _channel(settings: Settings, local_db: LocalDb) -> Any:
    return SqliteChannel(local_db())
