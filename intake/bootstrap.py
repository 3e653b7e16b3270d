"""The composition root: Settings -> one adapter per port, real when its credentials are set.

The only module that imports adapters (besides the local host's, named in
``tests/unit/test_structure.py``). Services are built lazily, once per worker process, and
heavy SDKs load only inside the real adapters, on first use (cold start stays short).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from intake import health, sla_follow_up, telemetry
from intake.adapters.local_board import SqliteBoard
from intake.adapters.local_channel import SqliteChannel
from intake.adapters.local_clock import SqliteClock
from intake.adapters.local_directory import LocalDirectory
from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.local_inbox import SqliteInbox
from intake.adapters.local_outbox import SqliteOutbox
from intake.adapters.local_queue import SqliteQueue
from intake.adapters.local_store import SqliteStore
from intake.adapters.sqlite_db import Database
from intake.config import Settings, load_field_map, load_settings
from intake.doctor import Check
from intake.errors import ConfigurationError
from intake.models import Identity, utcnow
from intake.ports import (
    Channel,
    Directory,
    FollowUps,
    Mailbox,
    Mailer,
    PoisonQueue,
    Queue,
    ServiceHooks,
    Services,
    Store,
    WorkItems,
)
from intake.status_token import StatusKeys

T = TypeVar("T")
_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """The worker's services, built on first use from the environment's settings."""
    global _services
    with _lock:
        if _services is None:
            _services = build(load_settings())
            telemetry.configure(_services.settings)
            health.calls.clock = _services.clock  # the outcomes of real calls: the one clock
        return _services


def override(new: Services | None) -> None:
    """Use ``new`` as this worker's services (tests, the local host); None forgets them."""
    global _services
    with _lock:
        _services = new
        health.calls.clock = new.clock if new is not None else utcnow


def build(settings: Settings, **overrides: Any) -> Services:
    """One adapter per port from ``settings``; keyword overrides replace single ports."""
    database: Database | None = None

    def local_db() -> Database:  # opened only if some port runs locally
        nonlocal database
        if database is None:
            database = open_database(settings.database_path)
        return database

    def port(name: str, choose: Callable[[Settings, LocalDb], T]) -> T:
        """The adapter ``choose`` picks (type-checked against its port), or the override."""
        return cast(T, overrides[name]) if name in overrides else choose(settings, local_db)

    queue: Queue
    poison: PoisonQueue | None
    if "queue" in overrides:  # a test's queue: its poison too, if it has one
        queue = overrides["queue"]
        poison = queue if isinstance(queue, PoisonQueue) else None
    else:
        queue = poison = _queue(settings, local_db)
    follow_ups = port("follow_ups", _follow_ups)
    return Services(
        settings=settings,
        store=port("store", _store),
        queue=queue,
        work_items=port("work_items", _work_items),
        mailer=port("mailer", _mailer),
        # The Teams channel keeps its messages' effect keys in the follow-ups' journal.
        channel=port("channel", lambda s, db: _channel(s, db, follow_ups)),
        field_maps=overrides.get("field_maps") or load_field_map(settings.field_map_path),
        directory=port("directory", _directory),
        status_keys=overrides.get("status_keys") or status_keys(settings),
        clock=port("clock", _clock),
        follow_ups=follow_ups,
        # Both queue adapters list and requeue their poison messages themselves.
        poison=port("poison", lambda _settings, _db: poison),
        mailbox=port("mailbox", _mailbox),
    )


def status_keys(settings: Settings) -> StatusKeys:
    """The status links' keys: the settings' (Key Vault in Azure), else the data folder's."""
    secret = settings.status_secret.get_secret_value()
    if not secret:
        if settings.uses_azure_storage:  # several instances, no lasting data folder
            raise ConfigurationError(
                "INTAKE_STATUS_SECRET is required when Azure Storage is used "
                "(every instance must sign status links with the same key)"
            )
        from intake.adapters.local_secret import status_secret

        secret = status_secret(settings.data_dir)
    return StatusKeys(
        current=secret.encode(),
        previous=settings.status_previous_secret.get_secret_value().encode(),
        previous_until=settings.status_previous_secret_until,
    )


def local_identities(settings: Settings) -> list[Identity]:
    """The local people as DevOps identities (the local board's identity directory)."""
    return [Identity(p.aad_object_id, p.name, str(p.email)) for p in settings.people]


@dataclass(frozen=True)
class LocalParts:
    """The local adapters over the SQLite file, for what only the local host shows beyond the
    ports (the board, the outbox, the channel, the queues as they are). Local mode only."""

    db: Database
    board: SqliteBoard
    outbox: SqliteOutbox
    channel: SqliteChannel
    queue: SqliteQueue


def local_parts(settings: Settings) -> LocalParts:
    """The local adapters on ``settings.database_path`` (the file the local services use)."""
    db = open_database(settings.database_path)
    return LocalParts(
        db=db,
        board=SqliteBoard(
            db,
            base_url=settings.base_url,
            people=local_identities(settings),
            key_field=settings.request_id_field,
        ),
        outbox=SqliteOutbox(db),
        channel=SqliteChannel(db),
        queue=SqliteQueue(db, settings.steps_queue),
    )


LocalDb = Callable[[], Database]
_databases: weakref.WeakValueDictionary[Path, Database] = weakref.WeakValueDictionary()
_databases_lock = threading.Lock()


def open_database(path: Path) -> Database:
    """The ``Database`` of this process on ``path``, while anything uses it: the local services
    and the local host's parts share one, and so each thread's connection."""
    with _databases_lock:
        database = _databases.get(path.resolve())
        if database is None:
            database = _databases[path.resolve()] = Database(path)
        return database


def _clock(settings: Settings, local_db: LocalDb) -> Callable[[], datetime]:
    if settings.uses_azure_storage:
        return utcnow  # in Azure, time is the wall's
    # Locally, time is kept in the SQLite file: ``POST /dev/api/clock`` can stop it, and every
    # thread and process over the file reads the same time.
    return SqliteClock(local_db())


def _follow_ups(settings: Settings, local_db: LocalDb) -> FollowUps | None:
    if settings.uses_azure_storage:
        from intake.adapters.azure_follow_ups import TableFollowUps

        return TableFollowUps(settings)
    return SqliteFollowUps(local_db())


def _mailbox(settings: Settings, local_db: LocalDb) -> Mailbox | None:
    if settings.uses_graph:
        from intake.adapters.graph_inbox import GraphInbox

        return GraphInbox(settings)
    return SqliteInbox(local_db())


def _store(settings: Settings, local_db: LocalDb) -> Store:
    if settings.uses_azure_storage:
        from intake.adapters.azure_store import TableStore  # the SDK loads only when used

        return TableStore(settings)
    return SqliteStore(local_db())


class QueueAdapter(Queue, PoisonQueue, Protocol):
    """A queue adapter is both ports: it sends, and it lists and requeues its poison."""


def _queue(settings: Settings, local_db: LocalDb) -> QueueAdapter:
    if settings.uses_azure_storage:
        from intake.adapters.azure_queue import StorageQueue

        return StorageQueue(settings)
    return SqliteQueue(local_db(), settings.steps_queue)


def _work_items(settings: Settings, local_db: LocalDb) -> WorkItems:
    if settings.uses_devops:
        from intake.adapters.devops import DevOpsWorkItems

        return DevOpsWorkItems(settings)
    return SqliteBoard(
        local_db(),
        base_url=settings.base_url,
        people=local_identities(settings),
        initial_state=settings.state_new,
        key_field=settings.request_id_field,
    )


def _mailer(settings: Settings, local_db: LocalDb) -> Mailer:
    if settings.uses_graph:
        from intake.adapters.graph_mail import GraphMailer

        return GraphMailer(settings)
    return SqliteOutbox(local_db())


def _channel(settings: Settings, local_db: LocalDb, follow_ups: FollowUps | None) -> Channel:
    if settings.uses_bot:
        from intake.adapters.teams_channel import TeamsChannel

        journal = follow_ups.claim_effect if follow_ups is not None else None
        return TeamsChannel(settings, journal=journal)
    return SqliteChannel(local_db())


def _directory(settings: Settings, local_db: LocalDb) -> Directory | None:
    if not settings.scrum_master_group_id:
        return None  # no group: the scrum masters are the configured ids and emails
    if settings.uses_graph:
        from intake.adapters.graph_directory import GraphDirectory

        return GraphDirectory(settings)
    return LocalDirectory(settings.people)


def service_hooks(settings: Settings) -> ServiceHooks:
    """DevOps' service hook subscriptions (``intake hooks``); DevOps must be configured."""
    from intake.adapters.devops_hooks import DevOpsServiceHooks

    return DevOpsServiceHooks(settings)


def doctor_checks(settings: Settings) -> list[Check]:
    """The checks ``intake doctor`` runs, gathered here and nowhere else: local files, then
    each configured real system's own checks (each adapter module offers its
    ``doctor_checks``; DevOps keeps them beside its adapter, in ``devops_doctor``)."""
    checks = _local_checks(settings) + [sla_follow_up.calendar_check(settings)]
    if settings.uses_devops:
        from intake.adapters import devops_doctor, devops_hooks

        checks += devops_doctor.doctor_checks(settings) + devops_hooks.doctor_checks(settings)
    if settings.uses_graph:
        from intake.adapters import graph_mail

        checks += graph_mail.doctor_checks(settings)
    if settings.uses_bot:
        from intake.adapters import teams_channel

        checks += teams_channel.doctor_checks(settings)
    if settings.uses_azure_storage:
        from intake.adapters import azure_queue, azure_store

        checks += azure_store.doctor_checks(settings) + azure_queue.doctor_checks(settings)
    return checks


def _local_checks(settings: Settings) -> list[Check]:
    local_ports = [
        name
        for name, real in (
            ("store and queue", settings.uses_azure_storage),
            ("work items", settings.uses_devops),
            ("mail", settings.uses_graph),
            ("channel", settings.uses_bot),
        )
        if not real
    ]

    def data_dir_writable() -> str:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".doctor-probe"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
        return f"{settings.data_dir.resolve()} for {', '.join(local_ports)}"

    def field_map_loads() -> str:
        forms = load_field_map(settings.field_map_path).get("forms", {})
        if not forms:
            raise ValueError(f"{settings.field_map_path} has no forms")
        return f"{len(forms)} form(s): {', '.join(forms)}"

    checks = [
        Check(
            "local",
            "field map loads",
            field_map_loads,
            "set INTAKE_FIELD_MAP_PATH to a JSON file like forms/field-map.json",
        )
    ]
    if local_ports:
        checks.insert(
            0,
            Check(
                "local",
                "data folder writable",
                data_dir_writable,
                "set INTAKE_DATA_DIR to a folder this user can write (default ./.intake)",
            ),
        )
    return checks
