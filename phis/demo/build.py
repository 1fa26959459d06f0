"""Steps of the demo city, in order. Each step is idempotent; persons are added."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from django.apps import apps

from phis.core.orgunits.services import divisions_load
from phis.demo.facilities import facilities_build
from phis.demo.persons import persons_build
from phis.demo.users import users_build

# Later modules add their demo steps here: (label, app, "module:function"); each function
# takes no arguments, is idempotent and returns a summary (e.g. a dict of counts). They run
# after the persons are in, so activity streams can refer to residents.
EXTRA_STEPS: list[tuple[str, str, str]] = [
    ("codes", "phis.core.codes", "phis.core.codes.services:codes_load"),
    ("signing certificates", "phis.apps.esign", "phis.apps.esign.services:esign_demo_setup"),
    ("MPI review examples", "phis.core.people", "phis.core.people.mpi_services:mpi_demo_setup"),
    ("notifiable-disease history", "phis.apps.notifiable",
     "phis.apps.notifiable.demo:cards_demo_history"),
    ("signals", "phis.apps.signals", "phis.apps.signals.services:signals_demo_setup"),
    ("key-disease management", "phis.apps.keydiseases",
     "phis.apps.keydiseases.services:keydiseases_demo_setup"),
    ("outbreak events", "phis.apps.outbreaks", "phis.apps.outbreaks.services:outbreaks_demo_setup"),
    ("weekly situation reports", "phis.apps.epi", "phis.apps.epi.services:epi_demo_setup"),
]


def demo_build(*, persons: int, seed: int, progress: Callable[[int], None] | None = None,
               log: Callable[[str], None] = print) -> dict:
    summary: dict = {}
    seconds: dict[str, float] = {}  # per step, logged last (bench/demo_build_bench.py)
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        seconds[step] = round(now - clock, 1)
        clock = now

    loaded = divisions_load()
    summary["divisions"] = loaded.__dict__
    log(f"org tree: {loaded}")
    lap("org tree")
    summary["facilities"] = sum(facilities_build().values())
    lap("facilities")
    summary["users"] = len(users_build())
    lap("users")
    summary["persons"] = persons_build(count=persons, seed=seed, progress=progress)
    lap("persons")
    for label, app_name, target in EXTRA_STEPS:
        if not apps.is_installed(app_name):
            continue  # that module is not part of this deployment
        module_name, func_name = target.split(":")
        result = getattr(importlib.import_module(module_name), func_name)()
        log(f"{label}: {result}")
        summary[label] = result if isinstance(result, dict | int | str) else str(result)
        lap(label)
    log("step times: " + ", ".join(f"{step} {s:.1f} s" for step, s in seconds.items()))
    return summary
