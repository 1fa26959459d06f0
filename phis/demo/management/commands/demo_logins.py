import os

from django.core.management.base import BaseCommand

from phis.demo.users import demo_logins_text


class Command(BaseCommand):
    help = "Print the demo log-ins"

    def handle(self, *args, **options):
        self.stdout.write(demo_logins_text())
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Serving on http://127.0.0.1:{port}")
