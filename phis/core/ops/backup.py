"""Backups that restore (issue 2 item 11; SECURITY.md §8 item 33).

A backup is one file: a tar archive holding ``manifest.json`` and the database —
``database.sqlite3`` (SQLite online backup API, a consistent copy while the application runs)
or ``database.pgdump`` (``pg_dump --format=custom``). With ``PHIS_BACKUP_KEY`` set the whole
archive is encrypted (SM4-GCM or AES-256-GCM through ``phis.core.crypto.providers``; the key
id travels with every chunk, so keys rotate like the field key: ``"2:hex,1:hex"``). A plain
copy of the manifest is written beside the file for monitoring; the one inside is
authoritative.

The manifest describes exactly the data in the dump: SQLite counts in the copy itself,
PostgreSQL counts inside the REPEATABLE READ snapshot that ``pg_dump --snapshot`` then dumps.
It holds created_at, vendor, the applied Django migrations, row counts per table and the
audit chain head. ``backup_restore`` refuses a non-empty target unless forced, restores,
recomputes the manifest of the restored database, compares it and verifies the audit chain.

Encrypted file layout::

    b"PHISBAKE" | format(1) | len(cipher)(1) | cipher | chunk* ;
    chunk = len(4, big-endian) | provider.encrypt(data, aad=header | index(8) | final(1))

The index and final flag in the associated data make reordered, dropped or truncated chunks
fail authentication.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.utils import timezone

from phis.core.crypto.providers import PROVIDERS, CryptoProvider, DecryptionError, parse_keyring

FORMAT = 1
MAGIC = b"PHISBAKE"
CHUNK = 4 * 1024 * 1024
MANIFEST_NAME = "manifest.json"
DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
SUFFIX = ".phisbak"
# ``phis migrate`` fills these on its own; a database holding nothing else counts as empty.
BOOKKEEPING_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})
_PG_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
           "sslkey": "PGSSLKEY", "service": "PGSERVICE", "passfile": "PGPASSFILE",
           "options": "PGOPTIONS", "connect_timeout": "PGCONNECT_TIMEOUT",
           "target_session_attrs": "PGTARGETSESSIONATTRS", "application_name": "PGAPPNAME"}


class BackupError(Exception):
    """Anything that stops a backup or a restore; the message says what to do."""


# --- results ---------------------------------------------------------------------------------

@dataclass
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: dict
    size: int
    encrypted: bool
    cipher: str = ""
    key_id: int | None = None
    seconds: float = 0.0
    pruned: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    source: Path
    manifest: dict
    restored: dict
    mismatches: list[str]
    chain_ok: bool | None
    chain_rows: int
    chain_problem: str
    pending_migrations: list[str]
    unknown_migrations: list[str]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.chain_ok is not False


# --- manifest ----------------------------------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_names(cursor, vendor: str) -> list[tuple[str, str]]:
    """(key, quoted name) of every table: SQLite's user tables, PostgreSQL's in all schemas
    that pg_dump dumps."""
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        return [(name, _quote(name)) for (name,) in cursor.fetchall()]
    if vendor == "postgresql":
        cursor.execute("SELECT schemaname, tablename FROM pg_catalog.pg_tables "
                       "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                       "AND schemaname NOT LIKE 'pg\\_%' ORDER BY 1, 2")
        return [(table if schema == "public" else f"{schema}.{table}",
                 f"{_quote(schema)}.{_quote(table)}") for schema, table in cursor.fetchall()]
    raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor!r}")


def _row_counts(cursor, vendor: str) -> dict[str, int]:
    counts = {}
    for key, quoted in _table_names(cursor, vendor):
        # Table names come from the catalogue and are quoted; nothing user-supplied.
        cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
        counts[key] = int(cursor.fetchone()[0])
    return counts


def _audit_tables() -> tuple[str, str]:
    from phis.core.audit.models import AuditChainHead, AuditLog

    return AuditChainHead._meta.db_table, AuditLog._meta.db_table


def _inspect(cursor, vendor: str) -> dict:
    """Migration state, row counts and audit chain head as seen through ``cursor``."""
    counts = _row_counts(cursor, vendor)
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    head_table, log_table = _audit_tables()
    head = None
    if head_table in counts:
        cursor.execute(f"SELECT last_id, last_hash, purged_through_id "  # noqa: S608
                       f"FROM {_quote(head_table)} WHERE id = 1")
        row = cursor.fetchone()
        head = ({"last_id": int(row[0]), "last_hash": row[1], "purged_through_id": int(row[2])}
                if row else {"last_id": 0, "last_hash": "", "purged_through_id": 0})
    return {"migrations": migrations, "row_counts": counts,
            "total_rows": sum(counts.values()), "audit_head": head,
            "audit_rows": counts.get(log_table)}


def _phis_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("phis")
    except PackageNotFoundError:
        return "0.1.0"


def _manifest(vendor: str, database: str, inspected: dict, **extra: Any) -> dict:
    import django

    return {"format": FORMAT, "created_at": timezone.localtime().isoformat(timespec="seconds"),
            "vendor": vendor, "database": database, "django": django.get_version(),
            "phis": _phis_version(), **extra, **inspected}


def manifest_compare(expected: dict, actual: dict) -> list[str]:
    """What differs between a backup's manifest and a restored database (empty = equal)."""
    problems = []
    if expected.get("migrations") != actual.get("migrations"):
        problems.append("applied migrations differ")
    exp, act = expected.get("row_counts", {}), actual.get("row_counts", {})
    for table in sorted(set(exp) | set(act)):
        if exp.get(table) != act.get(table):
            problems.append(f"table {table}: backup {exp.get(table, 'absent')}, "
                            f"restored {act.get(table, 'absent')}")
    if expected.get("audit_head") != actual.get("audit_head"):
        problems.append(f"audit chain head: backup {expected.get('audit_head')}, "
                        f"restored {actual.get('audit_head')}")
    return problems


def database_inspect(using: str = DEFAULT_DB_ALIAS) -> dict:
    conn = connections[using]
    with conn.cursor() as cursor:
        return _inspect(cursor, conn.vendor)


def database_is_empty(using: str = DEFAULT_DB_ALIAS) -> bool:
    """No table holds rows, apart from what ``phis migrate`` writes on its own."""
    conn = connections[using]
    with conn.cursor() as cursor:
        counts = _row_counts(cursor, conn.vendor)
    return not any(n for table, n in counts.items() if table not in BOOKKEEPING_TABLES)


# --- encryption --------------------------------------------------------------------------------

def backup_key_spec() -> str:
    return (getattr(settings, "PHIS_BACKUP_KEY", "") or os.environ.get("PHIS_BACKUP_KEY", "")
            ).strip()


def _provider(cipher: str, spec: str) -> CryptoProvider:
    if cipher not in PROVIDERS:
        raise BackupError(f"unknown cipher {cipher!r}; choose one of {sorted(PROVIDERS)}")
    try:
        keys, current = parse_keyring(spec)
    except ValueError as exc:
        raise BackupError(f"PHIS_BACKUP_KEY is invalid: {exc}") from exc
    return PROVIDERS[cipher](keys, current)


def _header(cipher: str) -> bytes:
    name = cipher.encode()
    return MAGIC + bytes([FORMAT, len(name)]) + name


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


class _EncryptingWriter(io.RawIOBase):
    def __init__(self, fh: BinaryIO, provider: CryptoProvider, cipher: str) -> None:
        self._fh, self._provider = fh, provider
        self._header = _header(cipher)
        self._buf = bytearray()
        self._index = 0
        fh.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buf += data
        while len(self._buf) > CHUNK:  # keep at least one byte back for the final chunk
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, data: bytes, *, final: bool) -> None:
        blob = self._provider.encrypt(data, associated_data=_aad(self._header, self._index,
                                                                  final))
        self._fh.write(len(blob).to_bytes(4, "big") + blob)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buf), final=True)
            self._buf.clear()
        super().close()


class _DecryptingReader(io.RawIOBase):
    def __init__(self, fh: BinaryIO, provider_for: Callable[[str], CryptoProvider]) -> None:
        self._fh = fh
        head = fh.read(len(MAGIC) + 2)
        if len(head) < len(MAGIC) + 2 or head[:len(MAGIC)] != MAGIC:
            raise BackupError("not an encrypted PHIS backup")
        if head[len(MAGIC)] != FORMAT:
            raise BackupError(f"backup format {head[len(MAGIC)]} is not supported")
        self.cipher = fh.read(head[-1]).decode()
        self._header = head + self.cipher.encode()
        self._provider = provider_for(self.cipher)
        self._index = 0
        self._plain = b""
        self._pos = 0
        self._done = False
        self._next_len = self._read_len()
        self.key_id: int | None = None

    def _read_len(self) -> int | None:
        raw = self._fh.read(4)
        if not raw:
            return None
        if len(raw) < 4:
            raise BackupError("backup file is truncated")
        return int.from_bytes(raw, "big")

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        if self._next_len is None:
            if not self._done:
                raise BackupError("backup file is truncated (final chunk missing)")
            return
        blob = self._fh.read(self._next_len)
        if len(blob) < self._next_len:
            raise BackupError("backup file is truncated")
        if self._done:
            raise BackupError("data after the final chunk")
        self._next_len = self._read_len()
        final = self._next_len is None
        if len(blob) > 1:
            self.key_id = blob[1]
        try:
            self._plain = self._provider.decrypt(
                blob, associated_data=_aad(self._header, self._index, final))
        except DecryptionError as exc:
            raise BackupError(
                f"cannot decrypt chunk {self._index}: {exc} (wrong PHIS_BACKUP_KEY, or the "
                "file was altered or truncated)") from exc
        self._pos = 0
        self._index += 1
        self._done = final

    def readinto(self, buffer) -> int:
        while self._pos >= len(self._plain):
            if self._done and self._next_len is None:
                return 0
            self._fill()
        n = min(len(buffer), len(self._plain) - self._pos)
        buffer[:n] = self._plain[self._pos:self._pos + n]
        self._pos += n
        return n


def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


# --- PostgreSQL helpers ------------------------------------------------------------------------

def _pg_env(settings_dict: dict) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    for key, var in _PG_ENV.items():
        if settings_dict.get("OPTIONS", {}).get(key) not in (None, ""):
            env[var] = str(settings_dict["OPTIONS"][key])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client) matching the server's "
                          "major version or newer")
    return path


def _run(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        tool = Path(args[0]).name
        raise BackupError(f"{tool} failed (exit {proc.returncode}): "
                          f"{proc.stderr.strip() or proc.stdout.strip()}")


# --- backup ------------------------------------------------------------------------------------

def default_backup_path(using: str = DEFAULT_DB_ALIAS) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.VAR_DIR) / "backups" / f"phis-{connections[using].vendor}-{stamp}{SUFFIX}"


def _dump_sqlite(using: str, target: Path) -> dict:
    conn = connections[using]
    if conn.in_atomic_block:
        raise BackupError("cannot back up from inside a transaction")
    conn.ensure_connection()
    dst = sqlite3.connect(target)
    try:
        # One step (pages=-1): the copy is a single consistent snapshot; under WAL the
        # application keeps reading and writing meanwhile.
        conn.connection.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        inspected = _inspect(dst.cursor(), "sqlite")
    finally:
        dst.close()
    name = conn.settings_dict["NAME"]
    return _manifest("sqlite", Path(str(name)).name, inspected,
                     server_version=sqlite3.sqlite_version)


def _dump_postgresql(using: str, target: Path) -> dict:
    conn = connections[using]
    pg_dump = _pg_tool("pg_dump")
    raw = conn.get_new_connection(conn.get_connection_params())
    try:
        raw.autocommit = False
        with raw.cursor() as cursor:
            # Count inside the snapshot that pg_dump dumps: the manifest matches the dump
            # exactly while the application keeps writing.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            inspected = _inspect(cursor, "postgresql")
            _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                  f"--file={target}"], _pg_env(conn.settings_dict))
        raw.rollback()
    finally:
        raw.close()
    return _manifest("postgresql", conn.settings_dict["NAME"], inspected,
                     server_version=server_version)


def backup_create(*, output: Path | None = None, using: str = DEFAULT_DB_ALIAS,
                  encrypt: bool | None = None, cipher: str | None = None,
                  keep: int | None = None) -> BackupResult:
    """Write a backup of database ``using`` to ``output`` (default ``var/backups/``).
    ``encrypt=None`` encrypts when ``PHIS_BACKUP_KEY`` is set."""
    started = time.monotonic()
    vendor = connections[using].vendor
    if vendor not in DB_MEMBER:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor!r}")
    spec = backup_key_spec()
    if encrypt is None:
        encrypt = bool(spec)
    if encrypt and not spec:
        raise BackupError("encryption asked for but PHIS_BACKUP_KEY is not set "
                          "(generate one: openssl rand -hex 32)")
    cipher = cipher or settings.PHIS_CRYPTO_PROVIDER
    provider = _provider(cipher, spec) if encrypt else None

    output = Path(output) if output else default_backup_path(using)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".phis-backup-", dir=output.parent) as tmp:
        dump = Path(tmp) / DB_MEMBER[vendor]
        manifest = (_dump_sqlite if vendor == "sqlite" else _dump_postgresql)(using, dump)
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                sink: BinaryIO = (_EncryptingWriter(fh, provider, cipher)  # type: ignore[assignment]
                                  if provider else fh)
                # pg_dump's custom format is compressed already; the SQLite file is not.
                mode = "w|gz" if vendor == "sqlite" else "w|"
                with tarfile.open(fileobj=sink, mode=mode) as tar:
                    info = tarfile.TarInfo(MANIFEST_NAME)
                    info.size, info.mtime, info.mode = len(manifest_bytes), int(time.time()), 0o600
                    tar.addfile(info, io.BytesIO(manifest_bytes))
                    tar.add(dump, arcname=DB_MEMBER[vendor], recursive=False)
                if provider:
                    sink.close()
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, output)
        except BaseException:
            with suppress(FileNotFoundError):
                partial.unlink()
            raise
    size = output.stat().st_size
    beside = output.with_name(output.name + ".manifest.json")
    beside.write_text(json.dumps({**manifest, "file": {
        "name": output.name, "bytes": size, "encrypted": bool(provider),
        "cipher": cipher if provider else "", "key_id": provider.current_key_id if provider
        else None}}, ensure_ascii=False, indent=2))
    pruned = backups_prune(output.parent, keep) if keep else []
    return BackupResult(path=output, manifest_path=beside, manifest=manifest, size=size,
                        encrypted=bool(provider), cipher=cipher if provider else "",
                        key_id=provider.current_key_id if provider else None,
                        seconds=time.monotonic() - started, pruned=pruned)


def backups_prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest ``phis-*.phisbak`` files (and their manifests)."""
    files = sorted(directory.glob(f"phis-*{SUFFIX}"), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    removed = []
    for old in files[max(keep, 1):]:
        old.unlink()
        with suppress(FileNotFoundError):
            old.with_name(old.name + ".manifest.json").unlink()
        removed.append(old)
    return removed


# --- reading a backup --------------------------------------------------------------------------

@contextmanager
def _archive_stream(source: Path) -> Iterator[tuple[BinaryIO, dict]]:
    with open(source, "rb") as fh:
        if fh.read(len(MAGIC)) == MAGIC:
            fh.seek(0)
            spec = backup_key_spec()
            if not spec:
                raise BackupError("the backup is encrypted but PHIS_BACKUP_KEY is not set")
            reader = _DecryptingReader(fh, lambda cipher: _provider(cipher, spec))
            info = {"encrypted": True, "cipher": reader.cipher, "reader": reader}
            yield io.BufferedReader(reader, CHUNK), info  # type: ignore[misc]
        else:
            fh.seek(0)
            yield fh, {"encrypted": False, "cipher": "", "reader": None}


def backup_read(source: Path, workdir: Path | None) -> tuple[dict, Path | None, dict]:
    """Check a backup end to end (every chunk authenticated, archive complete) and return
    its manifest, the extracted database file (when ``workdir`` is given) and file facts."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    manifest = None
    db_path = None
    db_seen = False
    try:
        with _archive_stream(source) as (stream, info), \
                tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if member.name == MANIFEST_NAME and member.isfile() and manifest is None:
                    manifest = json.loads(tar.extractfile(member).read())
                elif member.name in DB_MEMBER.values() and member.isfile() and db_path is None:
                    if manifest is None:
                        raise BackupError("archive lists the database before the manifest")
                    if member.name != DB_MEMBER.get(manifest.get("vendor")):
                        raise BackupError(f"unexpected member {member.name}")
                    src = tar.extractfile(member)
                    if workdir is None:
                        while src.read(CHUNK):
                            pass
                    else:
                        db_path = Path(workdir) / member.name
                        with open(db_path, "wb") as out:
                            shutil.copyfileobj(src, out, CHUNK)
                    db_seen = True
                else:
                    raise BackupError(f"unexpected member {member.name!r} in the archive")
            # Drain the stream so a truncated or altered tail is detected.
            while stream.read(CHUNK):
                pass
            reader = info.pop("reader")
            if reader is not None:
                info["key_id"] = reader.key_id
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a readable PHIS backup: {exc}") from exc
    if manifest is None or not db_seen:
        raise BackupError(f"{source} is incomplete (manifest or database missing)")
    info["bytes"] = source.stat().st_size
    return manifest, db_path, info


# --- restore -----------------------------------------------------------------------------------

@contextmanager
def _orm_on(using: str) -> Iterator[None]:
    """Send ORM queries that name no database to ``using`` (for selectors written for the
    default database, e.g. the audit chain verification of a restored copy)."""
    if using == DEFAULT_DB_ALIAS:
        yield
        return

    class _To:
        def db_for_read(self, model, **hints):
            return using

        def db_for_write(self, model, **hints):
            return using

    had = "routers" in router.__dict__
    saved = router.__dict__.get("routers")
    router.routers = [_To()]
    try:
        yield
    finally:
        if had:
            router.routers = saved
        else:
            router.__dict__.pop("routers", None)


def _restore_sqlite(using: str, db_file: Path) -> None:
    conn = connections[using]
    if conn.in_atomic_block:
        raise BackupError("cannot restore from inside a transaction")
    conn.ensure_connection()
    src = sqlite3.connect(db_file)
    try:
        src.backup(conn.connection, pages=-1)
    finally:
        src.close()
        conn.close()


def _restore_postgresql(using: str, db_file: Path, *, privileges: bool) -> None:
    conn = connections[using]
    pg_restore = _pg_tool("pg_restore")
    conn.close()
    args = [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
            "--exit-on-error", "--no-password", f"--dbname={conn.settings_dict['NAME']}"]
    if not privileges:
        args.append("--no-privileges")
    _run([*args, str(db_file)], _pg_env(conn.settings_dict))


def _migration_drift(using: str, applied: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connections[using], ignore_no_migrations=True, load=True)
    on_disk = {f"{app}.{name}" for app, name in loader.disk_migrations}
    in_backup = {f"{app}.{name}" for app, names in applied.items() for name in names}
    known_apps = {app for app, _ in loader.disk_migrations}
    pending = sorted(on_disk - in_backup)
    unknown = sorted(m for m in in_backup - on_disk if m.split(".", 1)[0] in known_apps)
    return pending, unknown


def backup_restore(*, source: Path, using: str = DEFAULT_DB_ALIAS, force: bool = False,
                   verify_chain: bool = True, privileges: bool = True,
                   progress: Callable[[str], None] | None = None) -> RestoreResult:
    """Restore ``source`` into database ``using`` and verify the result against the
    manifest. Refuses a non-empty database unless ``force``."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    conn = connections[using]
    vendor = conn.vendor
    if vendor not in DB_MEMBER:
        raise BackupError(f"restore supports SQLite and PostgreSQL, not {vendor!r}")
    if not Path(source).is_file():
        raise BackupError(f"no backup file at {source}")
    if not database_is_empty(using):
        if not force:
            raise BackupError(f"database {conn.settings_dict['NAME']!r} is not empty; "
                              "restore refuses to overwrite it without --force")
        say("target is not empty: it will be overwritten (--force)")
    with tempfile.TemporaryDirectory(prefix="phis-restore-") as tmp:
        say(f"reading and authenticating {source}")
        manifest, db_file, _info = backup_read(Path(source), Path(tmp))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"manifest format {manifest.get('format')} is not supported")
        if manifest.get("vendor") != vendor:
            raise BackupError(f"the backup is of a {manifest.get('vendor')} database; the "
                              f"target ({using}) is {vendor}. Restore into the same vendor.")
        say(f"restoring into {vendor} database {conn.settings_dict['NAME']!r}")
        if vendor == "sqlite":
            _restore_sqlite(using, db_file)
        else:
            _restore_postgresql(using, db_file, privileges=privileges)
    conn.close()
    say("verifying row counts, migrations and the audit chain head")
    restored = database_inspect(using)
    mismatches = manifest_compare(manifest, restored)
    chain_ok, chain_rows, chain_problem = None, 0, ""
    if verify_chain and restored.get("audit_head") is not None:
        from phis.core.audit.selectors import audit_chain_verify

        say("verifying the audit hash chain")
        with _orm_on(using):
            report = audit_chain_verify()
        chain_ok, chain_rows = report.ok, report.rows_checked
        if not report.ok:
            chain_problem = (f"row {report.first_bad_id}: {report.problem} (a backup made "
                             "under another PHIS_AUDIT_KEY also fails here)")
    pending, unknown = _migration_drift(using, manifest.get("migrations", {}))
    return RestoreResult(source=Path(source), manifest=manifest, restored=restored,
                         mismatches=mismatches, chain_ok=chain_ok, chain_rows=chain_rows,
                         chain_problem=chain_problem, pending_migrations=pending,
                         unknown_migrations=unknown, seconds=time.monotonic() - started)

