"""``phis directreport …``: the exchange operator's commands.

    phis directreport export [--channel nidrs]          batch pending cards and deliver now
    phis directreport import FILE --user USERNAME [--channel nidrs] [--ack-out FILE]
    phis directreport ack FILE [--channel nidrs]          apply an acknowledgement file
    phis directreport reconcile --from YYYY-MM-DD --to YYYY-MM-DD --user USERNAME [--json]
    phis directreport cycle                              one turn of the periodic job
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from phis.apps.directreport import selectors, services
from phis.core.audit.context import AuditActor, actor_for_user, audit_context
from phis.core.exceptions import ApplicationError


def _user(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


class Command(BaseCommand):
    help = "A3 direct-report exchange: export, import, acknowledgements, reconciliation"
    requires_system_checks: list = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("export", help="batch pending card versions and deliver now")
        p.add_argument("--channel", default="")
        p = sub.add_parser("import", help="import a card batch reported elsewhere")
        p.add_argument("file")
        p.add_argument("--user", required=True, help="account that stores the cards")
        p.add_argument("--channel", default="")
        p.add_argument("--ack-out", default="", help="also write the acknowledgement here")
        p = sub.add_parser("ack", help="apply an acknowledgement of one of our batches")
        p.add_argument("file")
        p.add_argument("--channel", default="")
        p = sub.add_parser("reconcile", help="sent / acknowledged / rejected per county")
        p.add_argument("--from", dest="date_from", required=True)
        p.add_argument("--to", dest="date_to", required=True)
        p.add_argument("--user", required=True, help="whose scope to report")
        p.add_argument("--channel", default="")
        p.add_argument("--json", action="store_true")
        sub.add_parser("cycle", help="one turn of the periodic exchange job")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as exc:
            details = "; ".join(f"{e.field}: {e.message_en}" for e in exc.errors)
            raise CommandError(f"{exc.message} / {exc.message_en} {details}".strip()) from None

    def _export(self, options):
        with audit_context(AuditActor(channel="cli")):
            report = services.outbound_export_now(channel_code=options["channel"])
        self.stdout.write(f"delivered {report.delivered} batch(es), failed {report.failed}")
        for batch_id in report.errors:
            self.stderr.write(f"failed: {batch_id}")
        if report.failed:
            raise CommandError("some batches could not be delivered; they will be retried")

    def _import(self, options):
        user = _user(options["user"])
        path = Path(options["file"])
        with audit_context(actor_for_user(user, channel="cli")):
            batch = services.inbound_import(user=user, content=path.read_bytes(),
                                            file_name=path.name,
                                            channel_code=options["channel"])
        if options["ack_out"]:
            Path(options["ack_out"]).write_bytes(bytes(batch.ack_content or b""))
        if batch.state != "processed":
            raise CommandError(f"batch rejected: {batch.batch_code} {batch.batch_reason_en}")
        self.stdout.write(f"batch {batch.batch_id}: accepted {batch.accepted_count}, "
                          f"duplicate {batch.duplicate_count}, rejected "
                          f"{batch.rejected_count}; ack {batch.ack_file_name}")

    def _ack(self, options):
        with audit_context(AuditActor(channel="cli")):
            report = services.ack_process(content=Path(options["file"]).read_bytes(),
                                          channel_code=options["channel"])
        self.stdout.write(f"batch {report.batch_id} ({report.batch_result}): "
                          f"{report.applied} record(s) updated")
        for key in report.unknown:
            self.stderr.write(f"not in the batch: {key}")

    def _reconcile(self, options):
        user = _user(options["user"])
        start, end = selectors.period_from(date_from=options["date_from"],
                                           date_to=options["date_to"])
        report = selectors.reconciliation(user=user, date_from=start, date_to=end,
                                          channel=options["channel"])
        if options["json"]:
            self.stdout.write(json.dumps(report, default=str, ensure_ascii=False, indent=1))
            return
        keys = selectors.RECONCILIATION_KEYS
        self.stdout.write("county\t" + "\t".join(keys))
        for row in report["rows"]:
            self.stdout.write(f"{row['county_code'] or '-'}\t"
                              + "\t".join(str(row[k]) for k in keys))
        self.stdout.write("total\t" + "\t".join(str(report["total"][k]) for k in keys))
        for reason in report["reasons"]:
            self.stdout.write(f"rejected {reason['count']}: {reason['ack_code']} "
                              f"{reason['ack_reason_en'] or reason['ack_reason']}")

    def _cycle(self, options):
        with audit_context(AuditActor(channel="cli")):
            report = services.exchange_cycle()
        self.stdout.write(json.dumps(report.__dict__, ensure_ascii=False))
