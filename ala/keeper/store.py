"""The keeper's memory: a SQLite file that survives restarts and SIGKILL.

What is stored, and why it is enough to resume without missing anything:

- `meta`: the checkpoint of each keeper id (last block whose logs it fully applied) and the
  deployment the file belongs to (chain id + engine address; a file from another deployment is
  refused).
- `borrowers`: every account that ever posted collateral or borrowed; `positions`: which
  collateral assets each one posted (so the keeper reads only those). Written in the same SQLite
  transaction as the checkpoint that covers the logs it came from, so a crash can lose progress but
  never skip a log: the next run re-reads from the checkpoint (inserts are idempotent).
- `bids`: bids seen in `BidSubmitted` logs, with `activates_at`, and whether a `BidActivated` log
  was seen since.
- `actions`: the keeper's own log of what it did (liquidations and activations sent, mined,
  skipped or failed, with the sender address, every hash the transaction had (bumps included),
  nonce and gas used). Rows still `sent` when a run stops are resolved by the next run that signs
  with the same address, whatever its keeper id, from the receipts of any of those hashes.
- `claims`: which keeper took on an action on a shared key (a bid to activate), so that keepers
  sharing the file never send the same one twice; a claim lapses after its time.

Liquidation state itself is never trusted from the file: every start begins with a full scan of
the chain. WAL mode and per-keeper checkpoints, so several keepers may share one file (each reads
every log itself; what they learn is merged).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS borrowers (
    address TEXT PRIMARY KEY,
    first_block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    PRIMARY KEY (account, asset)
);
CREATE TABLE IF NOT EXISTS bids (
    bid_id INTEGER PRIMARY KEY,
    collateral TEXT NOT NULL,
    activates_at INTEGER NOT NULL,
    -- pending | active | gone
    status TEXT NOT NULL,
    block INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bids_due ON bids (status, activates_at);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    keeper_id TEXT NOT NULL,
    -- the signing address, lower case (NULL in rows from schema version 1)
    sender TEXT,
    -- liquidate | activate
    kind TEXT NOT NULL,
    -- sent | mined | reverted | skipped | failed | replaced
    status TEXT NOT NULL,
    account TEXT,
    collateral TEXT,
    bid_ids TEXT,
    tx_hash TEXT,
    -- JSON list of every hash the transaction had, bumps included (tx_hash is the latest)
    tx_hashes TEXT,
    nonce INTEGER,
    gas_used INTEGER,
    block INTEGER,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS actions_status ON actions (keeper_id, status);
CREATE INDEX IF NOT EXISTS actions_tx ON actions (tx_hash);
CREATE TABLE IF NOT EXISTS claims (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    keeper_id TEXT NOT NULL,
    -- unix seconds (wall clock: other processes read it)
    expires_at REAL NOT NULL,
    PRIMARY KEY (kind, key)
);
"""

# version 1 -> 2: the sender of each action and every hash it had
_MIGRATIONS = {
    1: [
        "ALTER TABLE actions ADD COLUMN sender TEXT",
        "ALTER TABLE actions ADD COLUMN tx_hashes TEXT",
    ]
}


class StoreMismatch(Exception):
    """The file belongs to another chain or deployment."""


class Store:
    def __init__(self, path: str | Path, keeper_id: str, sender: str = "") -> None:
        self.path = str(path)
        self.keeper_id = keeper_id
        # the address this keeper signs with: in-flight transactions are recovered by it, not by keeper id
        self.sender = sender
        # one checkpoint per keeper: keepers sharing a file each read every log themselves
        self._checkpoint_key = f"checkpoint/{keeper_id}"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # one connection, used from whichever thread runs the keeper (guarded by a lock)
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)
        version = self._get("schema_version")
        if version is None:
            self._set("schema_version", str(SCHEMA_VERSION))
            version = str(SCHEMA_VERSION)
        while version is not None and int(version) in _MIGRATIONS:
            for statement in _MIGRATIONS[int(version)]:
                self._db.execute(statement)
            version = str(int(version) + 1)
            self._set("schema_version", version)
        if int(version) != SCHEMA_VERSION:
            raise StoreMismatch(f"{self.path}: schema version {version}, this keeper speaks {SCHEMA_VERSION}")

    # ------------------------------------------------------------ meta

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bind(self, chain_id: int, engine: str) -> None:
        """Tie the file to one deployment; refuse a file written for another."""
        with self._lock:
            ident = f"{chain_id}:{engine.lower()}"
            current = self._get("deployment")
            if current is None:
                self._set("deployment", ident)
            elif current != ident:
                raise StoreMismatch(f"{self.path} belongs to deployment {current}, not {ident}")

    def checkpoint(self) -> int | None:
        with self._lock:
            value = self._get(self._checkpoint_key)
            return None if value is None else int(value)

    def rewind(self, block: int) -> None:
        """Move this keeper's checkpoint back to `block` (after a reorganisation replaced what followed)."""
        with self._lock:
            self._set(self._checkpoint_key, str(block))

    def apply_logs(
        self,
        to_block: int,
        borrowers: Iterable[tuple[str, int]] = (),
        bids: Iterable[tuple[int, str, int, str, int]] = (),
        activated: Iterable[int] = (),
        positions: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Record what the logs up to `to_block` said and move the checkpoint there, atomically.

        `bids` rows are (bid_id, collateral, activates_at, status, block).
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO borrowers (address, first_block) VALUES (?, ?)", list(borrowers)
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO bids (bid_id, collateral, activates_at, status, block)"
                    " VALUES (?, ?, ?, ?, ?)",
                    list(bids),
                )
                self._db.executemany("UPDATE bids SET status = 'active' WHERE bid_id = ?", [(i,) for i in activated])
                self._db.executemany("INSERT OR IGNORE INTO positions (account, asset) VALUES (?, ?)", list(positions))
                previous = self._get(self._checkpoint_key)
                if previous is None or int(previous) < to_block:
                    self._set(self._checkpoint_key, str(to_block))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------ borrowers and bids

    def borrowers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT address FROM borrowers ORDER BY rowid")]

    def positions(self) -> list[tuple[str, str]]:
        """(account, collateral asset) pairs seen in CollateralAdded logs."""
        with self._lock:
            return [(a, c) for a, c in self._db.execute("SELECT account, asset FROM positions")]

    def due_bids(self, now: int, limit: int = 10_000) -> list[int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT bid_id FROM bids WHERE status = 'pending' AND activates_at <= ? ORDER BY bid_id LIMIT ?",
                (now, limit),
            )
            return [r[0] for r in rows]

    def pending_bids(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM bids WHERE status = 'pending'").fetchone()[0]

    def set_bid_status(self, bid_ids: Iterable[int], status: str) -> None:
        with self._lock:
            self._db.executemany("UPDATE bids SET status = ? WHERE bid_id = ?", [(status, i) for i in bid_ids])

    # ------------------------------------------------------------ actions

    def record(self, kind: str, status: str, **fields: Any) -> int:
        """Append one action; returns its id."""
        return self.record_many([(kind, status, fields)])[0]

    def record_many(self, rows: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        with self._lock:
            ids = []
            now = time.time()
            self._db.execute("BEGIN")
            try:
                for kind, status, f in rows:
                    cur = self._db.execute(
                        "INSERT INTO actions (ts, keeper_id, sender, kind, status, account, collateral, bid_ids,"
                        " tx_hash, tx_hashes, nonce, gas_used, block, detail)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            now,
                            self.keeper_id,
                            self.sender.lower() or None,
                            kind,
                            status,
                            f.get("account"),
                            f.get("collateral"),
                            json.dumps(f["bid_ids"]) if f.get("bid_ids") is not None else None,
                            f.get("tx_hash"),
                            json.dumps([f["tx_hash"]]) if f.get("tx_hash") else None,
                            f.get("nonce"),
                            f.get("gas_used"),
                            f.get("block"),
                            f.get("detail"),
                        ),
                    )
                    ids.append(cur.lastrowid)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return ids

    def update_actions(self, updates: list[tuple[int, str, dict[str, Any]]]) -> None:
        """(action id, new status, fields among tx_hash/gas_used/block/detail) for each row."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for action_id, status, f in updates:
                    self._db.execute(
                        "UPDATE actions SET status = ?, tx_hash = COALESCE(?, tx_hash), gas_used = COALESCE(?,"
                        " gas_used), block = COALESCE(?, block), detail = COALESCE(?, detail), ts = ? WHERE id = ?",
                        (
                            status,
                            f.get("tx_hash"),
                            f.get("gas_used"),
                            f.get("block"),
                            f.get("detail"),
                            time.time(),
                            action_id,
                        ),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def set_tx_hashes(self, action_id: int, hashes: list[str]) -> None:
        """Every hash an action's transaction has had (a bump adds one); the latest is `tx_hash`."""
        with self._lock:
            self._db.execute(
                "UPDATE actions SET tx_hashes = ?, tx_hash = ? WHERE id = ?",
                (json.dumps(hashes), hashes[-1], action_id),
            )

    def open_actions(self) -> list[dict[str, Any]]:
        """Actions still `sent` (no receipt recorded yet) by this keeper's address, whichever keeper id sent them.

        Rows written before senders were recorded are matched by keeper id.
        """
        with self._lock:
            cur = self._db.execute(
                "SELECT id, kind, account, collateral, bid_ids, tx_hash, tx_hashes, nonce FROM actions"
                " WHERE status = 'sent' AND (sender = ? OR (sender IS NULL AND keeper_id = ?)) ORDER BY id",
                (self.sender.lower(), self.keeper_id),
            )
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur]

    def claim(self, kind: str, keys: Iterable[Any], keeper_id: str, seconds: float) -> list[Any]:
        """Claim `keys` for `keeper_id` for `seconds`; returns those it holds now (fresh or already its own)."""
        keys = list(keys)
        with self._lock:
            now = time.time()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM claims WHERE expires_at < ?", (now,))
                self._db.executemany(
                    "INSERT OR IGNORE INTO claims (kind, key, keeper_id, expires_at) VALUES (?, ?, ?, ?)",
                    [(kind, str(k), keeper_id, now + seconds) for k in keys],
                )
                held = {
                    r[0]
                    for r in self._db.execute(
                        "SELECT key FROM claims WHERE kind = ? AND keeper_id = ?", (kind, keeper_id)
                    )
                }
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return [k for k in keys if str(k) in held]

    def release(self, kind: str, keys: Iterable[Any], keeper_id: str) -> None:
        with self._lock:
            self._db.executemany(
                "DELETE FROM claims WHERE kind = ? AND key = ? AND keeper_id = ?",
                [(kind, str(k), keeper_id) for k in keys],
            )

    def actions(self, kind: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Every action, optionally filtered (for reports and tests)."""
        sql, args = "SELECT * FROM actions WHERE 1 = 1", []
        if kind:
            sql, args = sql + " AND kind = ?", [*args, kind]
        if status:
            sql, args = sql + " AND status = ?", [*args, status]
        with self._lock:
            cur = self._db.execute(sql + " ORDER BY id", args)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur]

    def counts(self) -> dict[str, int]:
        """Actions by "kind/status", e.g. {"liquidate/mined": 12}."""
        with self._lock:
            rows = self._db.execute("SELECT kind, status, COUNT(*) FROM actions GROUP BY kind, status")
            return {f"{k}/{s}": n for k, s, n in rows}

    def close(self) -> None:
        with self._lock:
            # another keeper may hold the file: its checkpoint will do
            with contextlib.suppress(sqlite3.OperationalError):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
