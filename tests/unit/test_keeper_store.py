"""The keeper's SQLite store: schema migration, recovery by sender address, claims shared between keepers."""

from __future__ import annotations

import json
import sqlite3

from ala.keeper.store import SCHEMA_VERSION, Store

SENDER = "0x" + "Ab" * 20
OTHER = "0x" + "cd" * 20

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, keeper_id TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, account TEXT, collateral TEXT, bid_ids TEXT, tx_hash TEXT, nonce INTEGER,
    gas_used INTEGER, block INTEGER, detail TEXT
);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO actions (ts, keeper_id, kind, status, tx_hash, nonce) VALUES (0, 'old', 'liquidate', 'sent', '0xaa', 7);
"""


def test_store__version_1_file__migrates_and_keeps_its_open_actions(tmp_path):
    path = tmp_path / "keeper.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
    store = Store(path, "old", sender=SENDER)
    [row] = store.open_actions()
    assert (row["tx_hash"], row["nonce"]) == ("0xaa", 7)
    assert store._get("schema_version") == str(SCHEMA_VERSION)


def test_store__open_actions__by_sender_not_by_keeper_id(tmp_path):
    path = tmp_path / "keeper.sqlite"
    mine = Store(path, "before-rename", sender=SENDER)
    mine.record("liquidate", "sent", tx_hash="0x01", nonce=1)
    theirs = Store(path, "before-rename", sender=OTHER)  # another key that once used the same id
    theirs.record("liquidate", "sent", tx_hash="0x02", nonce=1)

    renamed = Store(path, "after-rename", sender=SENDER.lower())
    assert [r["tx_hash"] for r in renamed.open_actions()] == ["0x01"]


def test_store__set_tx_hashes__keeps_every_hash_and_the_latest(tmp_path):
    store = Store(tmp_path / "k.sqlite", "k", sender=SENDER)
    action = store.record("liquidate", "sent", tx_hash="0x01", nonce=3)
    store.set_tx_hashes(action, ["0x01", "0x02"])
    [row] = store.open_actions()
    assert row["tx_hash"] == "0x02" and json.loads(row["tx_hashes"]) == ["0x01", "0x02"]


def test_store__claims__one_keeper_wins_each_key_until_released_or_expired(tmp_path):
    path = tmp_path / "shared.sqlite"
    one, two = Store(path, "one", sender=SENDER), Store(path, "two", sender=OTHER)
    assert one.claim("activate", [1, 2], "one", 60) == [1, 2]
    assert two.claim("activate", [2, 3], "two", 60) == [3]
    assert one.claim("activate", [2], "one", 60) == [2]  # still its own
    one.release("activate", [2], "one")
    assert two.claim("activate", [2], "two", 60) == [2]
    assert one.claim("activate", [9], "one", -1) == [9]  # a claim that lapsed at once ...
    assert two.claim("activate", [9], "two", 60) == [9]  # ... is free for the next keeper


def test_store__rewind__moves_the_checkpoint_back(tmp_path):
    store = Store(tmp_path / "k.sqlite", "k")
    store.apply_logs(120)
    store.rewind(117)
    assert store.checkpoint() == 117
