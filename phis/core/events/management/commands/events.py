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
from django.utils import timezone
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
        """Fixed intervals run every N seconds; crontab entries (daily detection, weekly
        reports) run when Celery's own schedule says they are due."""
        jobs = []
        started = timezone.now()
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            every = entry["schedule"]
            seconds = every.total_seconds() if isinstance(every, timedelta) else every
            if isinstance(seconds, int | float):
                jobs.append(_Job(name, import_string(entry["task"]), interval=float(seconds)))
            elif hasattr(every, "is_due"):
                jobs.append(_Job(name, import_string(entry["task"]), schedule=every,
                                 last_run_at=started))
            else:
                self.stderr.write(f"skipping {name}: unknown schedule {every!r}")
        self.stdout.write("running " + ", ".join(j.name for j in jobs) + " (Ctrl-C stops)")
        try:
            while True:
                for job in jobs:
                    if job.due(once=once):
                        try:
                            job.func()
                        except Exception as exc:
                            self.stderr.write(f"{job.name} failed: {exc!r}")
                if once:
                    return
                time.sleep(max(0.2, min(job.wait() for job in jobs)))
        except KeyboardInterrupt:
            self.stdout.write("stopped")


class _Job:
    def __init__(self, name: str, func, *, interval: float | None = None, schedule=None,
                 last_run_at=None) -> None:
        self.name, self.func, self.interval, self.schedule = name, func, interval, schedule
        self.next_at = 0.0  # interval jobs run at once, then every ``interval`` seconds
        self.last_run_at = last_run_at

    def due(self, *, once: bool) -> bool:
        if self.schedule is None:
            if time.monotonic() < self.next_at:
                return False
            self.next_at = time.monotonic() + self.interval
            return True
        if once:
            return False  # `run --once` runs the interval jobs; crontab ones wait their time
        is_due, _next = self.schedule.is_due(self.last_run_at)
        if is_due:
            self.last_run_at = timezone.now()
        return bool(is_due)

    def wait(self) -> float:
        if self.schedule is None:
            return self.next_at - time.monotonic()
        return min(60.0, float(self.schedule.is_due(self.last_run_at)[1]))
