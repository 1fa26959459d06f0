"""`phis audit verify` checks the hash chain; `phis audit purge` applies the retention."""

from django.core.management.base import BaseCommand, CommandError

from phis.core.audit.context import AuditActor, audit_context
from phis.core.audit.selectors import audit_chain_verify
from phis.core.audit.services import audit_purge_expired


class Command(BaseCommand):
    help = "Audit log: verify the hash chain, purge rows past the retention period"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="verify every row's MAC and link; exit 1 on a break")
        sub.add_parser("purge", help="delete rows older than PHIS_AUDIT_RETENTION_DAYS")

    def handle(self, *args, action: str, **options):
        with audit_context(AuditActor(username="cli", channel="cli")):
            if action == "verify":
                report = audit_chain_verify()
                if report.ok:
                    self.stdout.write(f"OK: {report.rows_checked} rows, chain intact")
                    return
                raise CommandError(f"BROKEN at row {report.first_bad_id}: {report.problem} "
                                   f"({report.rows_checked} rows read)")
            deleted = audit_purge_expired()
            self.stdout.write(f"purged {deleted} rows")
