"""One place that reads the environment (HackSoft style: settings differ only by env values)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
