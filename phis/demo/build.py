"""Steps of the demo city, in order. Each step is idempotent; persons are added."""

from __future__ import annotations

import importlib
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
]


def demo_build(*, persons: int, seed: int, progress: Callable[[int], None] | None = None,
               log: Callable[[str], None] = print) -> dict:
    summary: dict = {}
    loaded = divisions_load()
    summary["divisions"] = loaded.__dict__
    log(f"org tree: {loaded}")
    summary["facilities"] = sum(facilities_build().values())
    summary["users"] = len(users_build())
    summary["persons"] = persons_build(count=persons, seed=seed, progress=progress)
    for label, app_name, target in EXTRA_STEPS:
        if not apps.is_installed(app_name):
            continue  # that module is not part of this deployment
        module_name, func_name = target.split(":")
        result = getattr(importlib.import_module(module_name), func_name)()
        log(f"{label}: {result}")
        summary[label] = result if isinstance(result, dict | int | str) else str(result)
    return summary
