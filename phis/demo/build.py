"""Steps of the demo city, in order. Each step is idempotent; persons are added."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from phis.core.orgunits.services import divisions_load
from phis.demo.facilities import facilities_build
from phis.demo.persons import persons_build
from phis.demo.users import users_build

# Later modules add their demo steps here: (label, "module:function"), each function
# taking (seed=...) and returning a dict of counts.
EXTRA_STEPS: list[tuple[str, str]] = [
    ("codes", "phis.core.codes.services:codes_load"),
    ("signing certificates", "phis.apps.esign.services:esign_demo_setup"),
]


def demo_build(*, persons: int, seed: int, progress: Callable[[int], None] | None = None,
               log: Callable[[str], None] = print) -> dict:
    summary: dict = {}
    loaded = divisions_load()
    summary["divisions"] = loaded.__dict__
    log(f"org tree: {loaded}")
    summary["facilities"] = sum(facilities_build().values())
    summary["users"] = len(users_build())
    for label, target in EXTRA_STEPS:
        module_name, func_name = target.split(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ModuleNotFoundError, AttributeError, LookupError):
            continue  # that module is not installed in this deployment
        result = func()
        log(f"{label}: {result}")
        summary[label] = result if isinstance(result, dict | int | str) else str(result)
    summary["persons"] = persons_build(count=persons, seed=seed, progress=progress)
    return summary
