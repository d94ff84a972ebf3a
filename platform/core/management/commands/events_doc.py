"""Write docs/events.md from the apps' events.py declarations (or check it with --check)."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.events import events_markdown


class Command(BaseCommand):
    help = "Generate docs/events.md from every app's events.py (--check: fail if the file is stale)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="exit 1 if docs/events.md differs from the declarations")

    def handle(self, *args, **opts):
        path = Path(settings.BASE_DIR) / "docs" / "events.md"
        text = events_markdown()
        if opts["check"]:
            if not path.exists() or path.read_text() != text:
                raise CommandError("docs/events.md is stale: run ./mallard manage events_doc")
            self.stdout.write("docs/events.md is current")
            return
        path.write_text(text)
        self.stdout.write(f"wrote {path} ({text.count('## ')} topics)")
