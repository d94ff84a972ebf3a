from django.apps import AppConfig


class ReturnsDueIndexConfig(AppConfig):
    """The public side of returns: which returns have a deadline, and when (read by the beat sweep)."""

    name = "returns.due_index"
    label = "returns_due"
