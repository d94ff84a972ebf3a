"""docs/events.md is generated from the apps' events.py declarations: a stale file fails here."""
from pathlib import Path

from django.conf import settings

from core.events import events_markdown, topic_list


def test_docs_events_md_lists_every_declared_topic_as_generated():
    path = Path(settings.BASE_DIR) / "docs" / "events.md"
    assert path.read_text() == events_markdown(), "docs/events.md is stale: run ./mallard manage events_doc"


def test_every_topic_the_code_emits_is_declared():
    """Every literal topic passed to outbox_emit in the apps is in the catalogue (f-string topics are
    declared per status by their app: suborder.<status>, payment.<status>, refund.<status>)."""
    import re

    root = Path(settings.BASE_DIR)
    declared = {t.name for t in topic_list()}
    emitted = set()
    for path in root.glob("*/**/*.py"):
        if any(part in {".venv", "tests", "var", "node_modules"} for part in path.parts):
            continue
        emitted |= set(re.findall(r'outbox_emit\(\s*topic="([a-z_.]+)"', path.read_text()))
    assert emitted and emitted <= declared, f"undeclared: {emitted - declared}"
