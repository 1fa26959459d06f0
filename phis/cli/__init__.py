"""The one `phis` console command.

Analytics commands (detect, scan, rt, forecast, link) run without a database or platform
settings: each is a module in this package with ``main(argv) -> int``. Every other word is a
Django management command of the platform (``phis demo``, ``phis audit verify``,
``phis backup`` ...).
"""

from __future__ import annotations

import importlib
import os
import sys

# word -> module with main(argv); these never import Django.
STANDALONE_COMMANDS = {
    "detect": "phis.cli.detect",
    "scan": "phis.cli.scan",
    "rt": "phis.cli.rt",
    "forecast": "phis.cli.forecast",
    "evaluate-detectors": "phis.cli.evaluate_detectors",
    "link": "phis.cli.link",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in STANDALONE_COMMANDS:
        module = importlib.import_module(STANDALONE_COMMANDS[args[0]])
        return int(module.main(args[1:]) or 0)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        print("Standalone:", ", ".join(sorted(STANDALONE_COMMANDS)))
        args = ["help"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    # Imported by name so that the standalone commands (and their tests under
    # phis/algorithms) never pull Django in, also for import-linter's static view.
    management = importlib.import_module("django.core.management")
    management.execute_from_command_line(["phis", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
