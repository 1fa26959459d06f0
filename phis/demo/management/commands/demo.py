"""`phis demo`: build the deterministic synthetic Dongying (org tree, facilities, code
systems, users for every role, persons)."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from phis.core.audit.context import AuditActor, audit_context
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.people.models import Person


class Command(BaseCommand):
    help = "Build the synthetic city of Dongying (deterministic)."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=200_000,
                            help="residents to generate (default 200000; the real city: 2200000)")
        parser.add_argument("--seed", type=int, default=20200428)
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when persons already exist (make run)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, persons: int, seed: int, if_empty: bool, no_progress: bool,
               **options):
        if persons < 0 or persons > 5_000_000:
            raise CommandError("--persons must be between 0 and 5000000")
        if if_empty and Person.objects.exists():
            self.stdout.write("Demo city already loaded; skipping (run `phis demo` to add).")
            return
        from phis.demo.build import demo_build

        started = time.monotonic()
        with audit_context(AuditActor(username="demo", channel="cli")), \
                tqdm(total=persons, unit="persons", disable=no_progress,
                     desc="demo city") as bar:
            summary = demo_build(persons=persons, seed=seed, progress=bar.update,
                                 log=self.stdout.write)
            audit_record(event=AuditEventType.RECORD_CREATED, object_type="demo.city",
                         detail={"persons": persons, "seed": seed, **summary})
        self.stdout.write(self.style.SUCCESS(
            f"Demo city ready in {time.monotonic() - started:.1f} s: {summary}"))
