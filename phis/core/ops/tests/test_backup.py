"""`phis backup` / `phis restore` (issue 2 item 11; SECURITY.md §8 item 33): back up, restore
into an EMPTY database, compare every table's row count and the audit chain head, and verify
the audit hash chain on the restored copy.

SQLite restores into a new file; PostgreSQL into a fresh database created for the test on the
same server (dropped afterwards). Each vendor's test skips on the other vendor.
"""

from __future__ import annotations

import copy
import io
import json
import secrets
import tarfile
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist

from phis.core.ops import backup as bk

KEY = "ab" * 32
OTHER_KEY = "cd" * 32
TARGET = "restore_target"

on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite",
                               reason="needs the SQLite default database (DATABASE_URL unset)")
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test")


# --- fixtures --------------------------------------------------------------------------------

def _add_alias(settings_dict: dict) -> str:
    """Register a connection for ``TARGET`` without adding it to DATABASES: Django's test
    case only guards aliases listed there ("dynamically created connections are always
    allowed"), and the test database set-up never sees it."""
    from django.db.utils import load_backend

    backend = load_backend(settings_dict["ENGINE"])
    connections[TARGET] = backend.DatabaseWrapper(settings_dict, TARGET)
    return TARGET


def _drop_alias() -> None:
    try:
        conn = connections[TARGET]
    except ConnectionDoesNotExist:
        return
    conn.close()
    del connections[TARGET]


@pytest.fixture
def empty_target(transactional_db, tmp_path):
    """A database alias pointing at an EMPTY database of the same vendor as ``default``."""
    base = copy.deepcopy(connections["default"].settings_dict)
    if connection.vendor == "sqlite":
        base["NAME"] = str(tmp_path / "restored.sqlite3")
        base["TEST"] = {**base.get("TEST", {}), "NAME": base["NAME"]}
        yield _add_alias(base)
        _drop_alias()
        return
    import psycopg

    name = f"phis_restore_test_{secrets.token_hex(4)}"
    admin = {k: v for k, v in {"host": base["HOST"], "port": base["PORT"],
                               "user": base["USER"], "password": base["PASSWORD"]}.items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    base["NAME"] = name
    base["TEST"] = {**base.get("TEST", {}), "NAME": name}
    try:
        yield _add_alias(base)
    finally:
        _drop_alias()
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def city(transactional_db):
    """Org units, a user and audit rows, committed (pg_dump only sees committed data).

    The rows are dated 200 days back: the test database is flushed afterwards, and the
    append-only trigger lets only rows past the 180-day minimum be deleted (SQLite's flush
    deletes; PostgreSQL's truncates)."""
    from phis.core.accounts.services import user_create
    from phis.core.audit.services import audit_record
    from phis.core.audit.types import AuditEventType
    from phis.core.orgunits.models import OrgUnit
    from phis.core.orgunits.services import divisions_load

    past = timezone.now() - timedelta(days=200)
    with mock.patch("django.utils.timezone.now", return_value=past):
        summary = divisions_load()
        county = OrgUnit.objects.get(code="370502")
        user = user_create(username="ops_backup_test", password="Zq7#mVx2!Lp9",
                           role="city_cdc", org_unit=county, full_name="备份 测试")
        for i in range(7):
            audit_record(event=AuditEventType.RECORD_VIEWED, object_type="orgunits.orgunit",
                         object_id=county.pk, purpose=f"backup test {i}",
                         detail={"n": i, "名称": county.name})
    return {"summary": summary, "user": user}


@pytest.fixture
def backup_key(settings):
    settings.PHIS_BACKUP_KEY = KEY
    return KEY


def _verify_chain_on(alias: str):
    from phis.core.audit.selectors import audit_chain_verify

    with bk._orm_on(alias):
        return audit_chain_verify()


def _roundtrip(tmp_path: Path, target: str, city: dict) -> None:
    from phis.core.accounts.models import User
    from phis.core.orgunits.models import Level, OrgUnit

    out = tmp_path / "city.phisbak"
    made = bk.backup_create(output=out)
    assert made.encrypted and bk.is_encrypted(out)
    assert out.stat().st_mode & 0o077 == 0  # personal data: owner-only
    beside = json.loads(made.manifest_path.read_text())
    assert beside["file"]["encrypted"] is True
    assert beside["row_counts"] == made.manifest["row_counts"]

    source = bk.database_inspect("default")
    assert made.manifest["row_counts"] == source["row_counts"]
    assert made.manifest["audit_head"] == source["audit_head"]
    assert source["audit_head"]["last_id"] >= 7
    assert bk.database_is_empty(target)

    result = bk.backup_restore(source=out, using=target)
    assert result.ok, result.mismatches
    assert result.chain_ok is True and result.chain_rows == source["audit_head"]["last_id"]

    # Independently of the service's own check: every table, the head, the chain.
    restored = bk.database_inspect(target)
    assert set(restored["row_counts"]) == set(source["row_counts"])
    for table, n in source["row_counts"].items():
        assert restored["row_counts"][table] == n, table
    assert restored["audit_head"] == source["audit_head"]
    assert restored["migrations"] == source["migrations"]
    assert _verify_chain_on(target).ok
    communities = OrgUnit.objects.using(target).filter(level=Level.COMMUNITY)
    assert communities.count() == city["summary"].communities
    copy_user = User.objects.using(target).get(username="ops_backup_test")
    assert copy_user.check_password("Zq7#mVx2!Lp9")
    assert copy_user.org_unit.code == "370502"


# --- the round trip on each vendor -------------------------------------------------------

@on_sqlite
def test_sqlite_backup_restores_into_new_file(tmp_path, city, empty_target, backup_key):
    _roundtrip(tmp_path, empty_target, city)
    assert Path(connections[empty_target].settings_dict["NAME"]).stat().st_size > 0


@on_postgres
@pytest.mark.postgres
def test_postgres_backup_restores_into_fresh_database(tmp_path, city, empty_target,
                                                      backup_key):
    _roundtrip(tmp_path, empty_target, city)


# --- commands, refusal, force ---------------------------------------------------------------

def test_commands_refuse_non_empty_then_force(tmp_path, city, empty_target, backup_key):
    out = tmp_path / "cmd.phisbak"
    stdout = io.StringIO()
    call_command("backup", "-o", str(out), stdout=stdout)
    assert "backup written" in stdout.getvalue() and "key id 1" in stdout.getvalue()

    # The source database holds data: never overwritten without --force.
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(out), stdout=io.StringIO())

    stdout = io.StringIO()
    call_command("restore", str(out), "--database", empty_target, stdout=stdout)
    text = stdout.getvalue()
    assert "restore OK" in text and "audit chain  verified" in text
    assert "migrations   equal" in text

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(out), "--database", empty_target, stdout=io.StringIO())
    stdout = io.StringIO()
    call_command("restore", str(out), "--database", empty_target, "--force", stdout=stdout)
    assert "restore OK" in stdout.getvalue()

    stdout = io.StringIO()
    call_command("restore", str(out), "--inspect", stdout=stdout)
    assert "readable and complete" in stdout.getvalue()


def test_plain_backup_is_a_tar_with_manifest_first(tmp_path, city, settings):
    settings.PHIS_BACKUP_KEY = ""
    made = bk.backup_create(output=tmp_path / "plain.phisbak")
    assert not made.encrypted and not bk.is_encrypted(made.path)
    with tarfile.open(made.path, "r:*") as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names == ["manifest.json", bk.DB_MEMBER[connection.vendor]]
    assert manifest["vendor"] == connection.vendor
    assert set(manifest) >= {"created_at", "migrations", "row_counts", "audit_head"}
    assert manifest["audit_head"]["last_hash"] == made.manifest["audit_head"]["last_hash"]


def test_encrypt_without_key_is_refused(tmp_path, settings, db):
    settings.PHIS_BACKUP_KEY = ""
    with mock.patch.dict("os.environ", {"PHIS_BACKUP_KEY": ""}), \
            pytest.raises(bk.BackupError, match="PHIS_BACKUP_KEY"):
        bk.backup_create(output=tmp_path / "x.phisbak", encrypt=True)


def test_wrong_vendor_backup_is_refused(tmp_path, empty_target):
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    manifest = json.dumps({"format": 1, "vendor": other, "row_counts": {}}).encode()
    path = tmp_path / "other.phisbak"
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), (bk.DB_MEMBER[other], b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(bk.BackupError, match="same vendor"):
        bk.backup_restore(source=path, using=empty_target)


def test_backup_prune_keeps_newest(tmp_path):
    import os

    for i in range(4):
        p = tmp_path / f"phis-sqlite-2026010{i}-000000.phisbak"
        p.write_bytes(b"x")
        (tmp_path / (p.name + ".manifest.json")).write_text("{}")
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
    removed = bk.backups_prune(tmp_path, 2)
    assert sorted(p.name for p in removed) == ["phis-sqlite-20260100-000000.phisbak",
                                                "phis-sqlite-20260101-000000.phisbak"]
    assert len(list(tmp_path.glob("*.phisbak"))) == 2
    assert len(list(tmp_path.glob("*.manifest.json"))) == 2


# --- the encrypted container (no database) ---------------------------------------------------

def _seal(data: bytes, cipher: str = "sm4", spec: str = KEY) -> bytes:
    buf = io.BytesIO()
    writer = bk._EncryptingWriter(buf, bk._provider(cipher, spec), cipher)
    writer.write(data)
    writer.close()
    return buf.getvalue()


def _open(blob: bytes, spec: str = KEY) -> bytes:
    reader = bk._DecryptingReader(io.BytesIO(blob), lambda c: bk._provider(c, spec))
    return io.BufferedReader(reader).read()


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    header_len = len(bk.MAGIC) + 2 + blob[len(bk.MAGIC) + 1]
    pos, chunks = header_len, []
    while pos < len(blob):
        n = int.from_bytes(blob[pos:pos + 4], "big")
        chunks.append(blob[pos:pos + 4 + n])
        pos += 4 + n
    return blob[:header_len], chunks


@pytest.mark.parametrize("cipher", ["sm4", "aes-gcm"])
@pytest.mark.parametrize("size", [0, 1, 100, 250, 300])
def test_container_round_trip(monkeypatch, cipher, size):
    monkeypatch.setattr(bk, "CHUNK", 100)
    data = secrets.token_bytes(size)
    blob = _seal(data, cipher)
    assert size < 100 or data not in blob
    assert _open(blob) == data


def test_container_detects_reorder_truncation_and_wrong_key(monkeypatch):
    monkeypatch.setattr(bk, "CHUNK", 100)
    blob = _seal(secrets.token_bytes(350))
    header, chunks = _chunks(blob)
    assert len(chunks) == 4
    with pytest.raises(bk.BackupError, match=r"truncated|decrypt"):
        _open(header + b"".join(chunks[:-1]))  # tail cut at a chunk boundary
    with pytest.raises(bk.BackupError, match="decrypt"):
        _open(header + chunks[1] + chunks[0] + b"".join(chunks[2:]))
    with pytest.raises(bk.BackupError, match="truncated"):
        _open(blob[:-5])
    flipped = bytearray(blob)
    flipped[len(header) + 30] ^= 1
    with pytest.raises(bk.BackupError, match="decrypt"):
        _open(bytes(flipped))
    with pytest.raises(bk.BackupError, match="decrypt"):
        _open(blob, spec=OTHER_KEY)


def test_container_key_rotation(monkeypatch):
    old = _seal(b"written under key 1")
    rotated = f"2:{OTHER_KEY},1:{KEY}"
    assert _open(old, spec=rotated) == b"written under key 1"
    new = _seal(b"written under key 2", spec=rotated)
    assert new[len(bk.MAGIC) + 2 + 3 + 4 + 1] == 2  # key id inside the first chunk
    with pytest.raises(bk.BackupError):
        _open(new, spec=KEY)
