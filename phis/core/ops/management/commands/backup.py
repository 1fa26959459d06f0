"""``phis backup``: one file holding the database and its manifest (docs/operations.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from phis.core.ops.backup import BackupError, backup_create


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class Command(BaseCommand):
    help = ("Back up the database: SQLite through the online backup API, PostgreSQL through "
            "pg_dump --format=custom; encrypted when PHIS_BACKUP_KEY is set; a manifest with "
            "migrations, row counts and the audit chain head inside and beside the file.")

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", type=Path,
                            help="backup file (default var/backups/phis-<vendor>-<time>.phisbak)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--encrypt", dest="encrypt", action="store_true", default=None,
                           help="encrypt (needs PHIS_BACKUP_KEY); the default when it is set")
        group.add_argument("--no-encrypt", dest="encrypt", action="store_false",
                           help="write a plain archive even if PHIS_BACKUP_KEY is set")
        parser.add_argument("--cipher", choices=["sm4", "aes-gcm"],
                            help="default: PHIS_CRYPTO_PROVIDER")
        parser.add_argument("--keep", type=int, metavar="N",
                            help="afterwards delete all but the N newest phis-*.phisbak "
                                 "files in the output directory")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **opts):
        try:
            result = backup_create(output=opts["output"], using=opts["database"],
                                   encrypt=opts["encrypt"], cipher=opts["cipher"],
                                   keep=opts["keep"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        m = result.manifest
        head = m.get("audit_head") or {}
        out = self.stdout
        out.write(self.style.SUCCESS(f"backup written: {result.path}"))
        out.write(f"  size         {_size(result.size)} in {result.seconds:.1f} s")
        if result.encrypted:
            out.write(f"  encrypted    {result.cipher}, key id {result.key_id}")
        else:
            out.write(self.style.WARNING(
                "  encrypted    no: the file holds personal data in the clear "
                "(set PHIS_BACKUP_KEY)"))
        out.write(f"  database     {m['vendor']} {m.get('server_version', '')} "
                  f"{m['database']}")
        out.write(f"  tables       {len(m['row_counts'])}, {m['total_rows']} rows")
        out.write(f"  migrations   {sum(len(v) for v in m['migrations'].values())} applied")
        out.write(f"  audit head   last_id={head.get('last_id')} "
                  f"last_hash={head.get('last_hash', '')[:16]}…")
        out.write(f"  manifest     {result.manifest_path}")
        for path in result.pruned:
            out.write(f"  pruned       {path.name}")
