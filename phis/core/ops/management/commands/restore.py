"""``phis restore``: restore a ``phis backup`` file and prove the copy matches it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from phis.core.ops.backup import BackupError, backup_read, backup_restore


class Command(BaseCommand):
    help = ("Restore a backup made by `phis backup` into the configured database, then check "
            "row counts, migrations and the audit chain head against its manifest and verify "
            "the audit hash chain. Refuses a non-empty database unless --force. Stop the web "
            "and worker processes first.")

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="backup file (.phisbak)")
        parser.add_argument("--force", action="store_true",
                            help="overwrite a database that already holds data")
        parser.add_argument("--inspect", action="store_true",
                            help="only read and authenticate the file and print its manifest")
        parser.add_argument("--skip-chain-verify", action="store_true",
                            help="skip the audit hash-chain verification (row counts and the "
                                 "chain head are still compared)")
        parser.add_argument("--no-privileges", action="store_true",
                            help="PostgreSQL: do not restore GRANTs (target cluster lacks the "
                                 "roles); re-apply the grants of docs/operations.md")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **opts):
        try:
            if opts["inspect"]:
                return self._inspect(opts["source"])
            result = backup_restore(source=opts["source"], using=opts["database"],
                                    force=opts["force"],
                                    verify_chain=not opts["skip_chain_verify"],
                                    privileges=not opts["no_privileges"],
                                    progress=lambda msg: self.stdout.write(f"… {msg}"))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        m, r = result.manifest, result.restored
        head = r.get("audit_head") or {}
        out = self.stdout
        out.write("")
        out.write(f"restored     {result.source.name} (made {m['created_at']}, "
                  f"{m['vendor']} {m['database']}) in {result.seconds:.1f} s")
        equal = len(m["row_counts"]) - sum(1 for p in result.mismatches if p.startswith("table"))
        out.write(f"row counts   {equal}/{len(m['row_counts'])} tables equal, "
                  f"{r['total_rows']} rows (backup {m['total_rows']})")
        out.write("migrations   " + ("equal" if m["migrations"] == r["migrations"]
                                     else "DIFFER"))
        out.write(f"audit head   last_id={head.get('last_id')} "
                  f"last_hash={head.get('last_hash', '')[:16]}… "
                  + ("equal" if m.get("audit_head") == r.get("audit_head") else "DIFFERS"))
        if result.chain_ok is None:
            out.write("audit chain  not verified")
        elif result.chain_ok:
            out.write(f"audit chain  verified, {result.chain_rows} rows")
        else:
            out.write(self.style.ERROR(f"audit chain  BROKEN at {result.chain_problem}"))
        if result.pending_migrations:
            out.write(self.style.WARNING(
                f"note         {len(result.pending_migrations)} migration(s) of this code are "
                "not in the backup: run `phis migrate` before starting the application"))
        if result.unknown_migrations:
            out.write(self.style.WARNING(
                "note         the backup has migrations this code does not know "
                f"({', '.join(result.unknown_migrations[:5])}): it comes from a newer release"))
        if not result.ok:
            for problem in result.mismatches:
                out.write(self.style.ERROR(f"  {problem}"))
            raise CommandError("restore finished but the copy does NOT match the backup")
        out.write(self.style.SUCCESS("restore OK: the database matches the backup manifest"))
        return None

    def _inspect(self, source: Path) -> None:
        manifest, _db, info = backup_read(source, None)
        head = manifest.get("audit_head") or {}
        out = self.stdout
        out.write(self.style.SUCCESS(f"{source}: readable and complete"))
        out.write(f"  encrypted    {'yes, ' + info['cipher'] if info['encrypted'] else 'no'}"
                  + (f", key id {info.get('key_id')}" if info["encrypted"] else ""))
        out.write(f"  made         {manifest['created_at']} ({manifest['vendor']} "
                  f"{manifest.get('server_version', '')}, {manifest['database']})")
        out.write(f"  tables       {len(manifest['row_counts'])}, {manifest['total_rows']} rows")
        out.write(f"  audit head   last_id={head.get('last_id')} "
                  f"last_hash={head.get('last_hash', '')}")
