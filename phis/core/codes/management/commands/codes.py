"""``phis codes load [--system KEY ...] [--force]`` and ``phis codes search TEXT --system KEY``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from phis.core.codes.selectors import concept_search
from phis.core.codes.services import code_systems_load
from phis.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Code systems: load them from phis/core/codes/data (idempotent) or search one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load or update every code system")
        load.add_argument("--system", action="append", dest="systems",
                          help="only this system (repeatable)")
        load.add_argument("--force", action="store_true",
                          help="rebuild rows even when the files did not change")
        search = sub.add_parser("search", help="search a code system")
        search.add_argument("text")
        search.add_argument("--system", required=True)
        search.add_argument("--limit", type=int, default=20)

    def handle(self, *args, action: str, **options):
        if action == "load":
            try:
                results = code_systems_load(systems=options["systems"], force=options["force"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            for r in results:
                state = ("unchanged" if r.skipped else
                         f"+{r.created} ~{r.updated} -{r.deactivated}")
                self.stdout.write(f"{r.key:<22} {r.total:>6}  {state}")
            return
        try:
            found = concept_search(system=options["system"], text=options["text"],
                                   limit=options["limit"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from exc
        for c in found:
            mark = "" if c.active else "  (inactive)"
            self.stdout.write(f"{c.code:<14} {c.display_zh or '-'}  {c.display_en}{mark}")
