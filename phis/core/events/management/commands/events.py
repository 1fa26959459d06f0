"""``phis events drain|status|retry|purge|run``: operate the outbox.

``run`` is the embedded default's scheduler: it calls every task of
``CELERY_BEAT_SCHEDULE`` in this process at its interval (outbox drain, workflow escalation,
notification delivery) until interrupted; production uses Celery beat and workers instead.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string

from phis.core.events.selectors import outbox_failing, outbox_status
from phis.core.events.services import outbox_drain, outbox_purge, outbox_retry


class Command(BaseCommand):
    help = "事件发件箱：投递、状态、重试、清理、内置调度 / Outbox: drain, status, retry, purge, run"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        drain = sub.add_parser("drain", help="deliver due events now")
        drain.add_argument("--limit", type=int, default=10_000)
        drain.add_argument("--loop", action="store_true", help="keep draining")
        drain.add_argument("--interval", type=float, default=5.0)
        sub.add_parser("status", help="counts of due, scheduled, failing, delivered events")
        retry = sub.add_parser("retry", help="make undelivered events due now")
        retry.add_argument("ids", nargs="*", type=int)
        purge = sub.add_parser("purge", help="delete delivered events older than --days")
        purge.add_argument("--days", type=int, default=30)
        run = sub.add_parser("run", help="run the beat schedule in this process")
        run.add_argument("--once", action="store_true", help="run every task once and stop")

    def handle(self, *args, **opts) -> None:
        getattr(self, f"_{opts['action']}")(**opts)

    def _drain(self, *, limit: int, loop: bool, interval: float, **_) -> None:
        while True:
            report = outbox_drain(limit=limit)
            if report.claimed or not loop:
                self.stdout.write(f"claimed={report.claimed} delivered={report.delivered} "
                                  f"retry_later={report.retried}")
            if not loop:
                return
            time.sleep(interval)

    def _status(self, **_) -> None:
        s = outbox_status()
        self.stdout.write(f"due={s.due} scheduled={s.scheduled} failing={s.failing} "
                          f"delivered={s.delivered} handlers={s.handlers}")
        if s.oldest_due_at:
            self.stdout.write(f"oldest due event created at {s.oldest_due_at.isoformat()}")
        for event in outbox_failing():
            first_line = (event.last_error.splitlines() or [""])[0][:160]
            self.stdout.write(f"  #{event.pk} {event.topic} attempts={event.attempts} "
                              f"next={event.available_at.isoformat()} {first_line}")

    def _retry(self, *, ids: list[int], **_) -> None:
        count = outbox_retry(event_ids=ids or None)
        self.stdout.write(f"{count} event(s) due now")

    def _purge(self, *, days: int, **_) -> None:
        self.stdout.write(f"deleted {outbox_purge(older_than_days=days)} row(s)")

    def _run(self, *, once: bool, **_) -> None:
        jobs = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            every = entry["schedule"]
            seconds = every.total_seconds() if isinstance(every, timedelta) else every
            if not isinstance(seconds, int | float):
                self.stderr.write(f"skipping {name}: only fixed intervals run in-process")
                continue
            jobs.append([name, import_string(entry["task"]), float(seconds), 0.0])
        self.stdout.write("running " + ", ".join(j[0] for j in jobs) + " (Ctrl-C stops)")
        try:
            while True:
                now = time.monotonic()
                for job in jobs:
                    if now >= job[3]:
                        try:
                            job[1]()
                        except Exception as exc:
                            self.stderr.write(f"{job[0]} failed: {exc!r}")
                        job[3] = now + job[2]
                if once:
                    return
                time.sleep(max(0.2, min(j[3] for j in jobs) - time.monotonic()))
        except KeyboardInterrupt:
            self.stdout.write("stopped")
