"""The one embedded SQLite file behind every local adapter (``<data_dir>/intake.db``).

Each thread has its own connection, opened on its first call and kept (SQLite connections must
not be shared across threads; the local host serves requests on several threads and runs the
queue trigger on others). Opening one per call cost more than the call itself: the file is
opened and the schema parsed again each time (about 0.7 ms, against 0.01 ms for a read on an
open connection). WAL mode lets readers (the /dev pages) run while a step writes.

Writers in one process take turns on a lock of ours (``write``, ``transaction``) before they
ask SQLite for its write lock. SQLite's own wait for a busy lock is a sleep-and-retry loop
(1, 2, 5, 10 ... 25 ms, then 25 ms at a time), so side-by-side steps that write at the same
moment would each lose tens of milliseconds; our lock hands over the moment it is released.
Another process (``python -m intake replay`` beside ``make dev``) still meets SQLite's wait.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    request_id TEXT NOT NULL,
    step TEXT NOT NULL,
    result TEXT NOT NULL,
    done_at TEXT NOT NULL,
    PRIMARY KEY (request_id, step)
);
CREATE TABLE IF NOT EXISTS status_nonces (
    request_id TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    request_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (request_id, name)
);
CREATE TABLE IF NOT EXISTS email_allowances (
    counter TEXT NOT NULL,
    period TEXT NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (counter, period, request_id)
);
CREATE TABLE IF NOT EXISTS votes (
    request_id TEXT NOT NULL,
    voter_id TEXT NOT NULL,
    vote TEXT NOT NULL,
    PRIMARY KEY (request_id, voter_id)
);
CREATE TABLE IF NOT EXISTS card_versions (
    request_id TEXT PRIMARY KEY,
    wanted INTEGER NOT NULL DEFAULT 0,
    published INTEGER NOT NULL DEFAULT 0,
    turn_owner TEXT NOT NULL DEFAULT '',
    turn_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS scrum_masters (
    teams_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL,
    inserted_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue_messages (queue, visible_at);
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    rev INTEGER NOT NULL,
    state TEXT NOT NULL,
    fields TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS work_item_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_item_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    html TEXT NOT NULL,
    mention TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (work_item_id, key)
);
CREATE TABLE IF NOT EXISTS work_item_comment_authors (
    comment_id INTEGER PRIMARY KEY,
    author TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS work_item_links (
    source_id INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (source_id, target_id, relation)
);
CREATE TABLE IF NOT EXISTS work_item_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_item_id INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    change TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    cc TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    work_item_id INTEGER,
    sent_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_headers (
    key TEXT PRIMARY KEY,
    reply_to TEXT NOT NULL,
    headers TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS follow_up_items (
    work_item_id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    updates TEXT NOT NULL,
    next_due_at TEXT,
    running INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS follow_up_due ON follow_up_items (next_due_at);
CREATE TABLE IF NOT EXISTS follow_up_changed (
    work_item_id INTEGER PRIMARY KEY,
    marked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS follow_up_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS follow_up_effects (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_posts (
    activity_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    reply_to TEXT,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    mentions TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    now TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    internet_message_id TEXT NOT NULL,
    message TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS message_index (
    message_id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS work_item_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_item_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (work_item_id, key)
);
CREATE TABLE IF NOT EXISTS channel_threads (
    activity_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    card TEXT NOT NULL,
    updates INTEGER NOT NULL DEFAULT 0,
    posted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


_writers: dict[Path, threading.RLock] = {}
_writers_lock = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    """One lock per database file in this process, however many ``Database`` objects open it."""
    with _writers_lock:
        return _writers.setdefault(path.resolve(), threading.RLock())


class Database:
    """Opens connections to the local SQLite file, creating it and its schema on first use."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout  # SQLite's wait for another process's write lock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _writer_lock(path)
        self._mine = threading.local()  # this thread's connection; closed when the thread ends
        with self.write() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        # Held open, never used: when the last connection to a WAL file closes, SQLite
        # checkpoints and deletes the WAL, which every thread that ends would pay for.
        self._keeper = sqlite3.connect(path, check_same_thread=False)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection in autocommit mode, for reading: writes go through
        ``write`` (one statement) or ``transaction`` (several)."""
        connection: sqlite3.Connection | None = getattr(self._mine, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            connection.row_factory = sqlite3.Row
            self._mine.connection = connection
        yield connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode for single-statement writes, holding this process's
        writer turn."""
        with self._writer, self.connect() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: the write lock up front makes check-then-write atomic."""
        with self.write() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (the disk is full) leaves the transaction open: the connection
                # stays with this thread, so end it here, not in its next call.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
