"""The catalogue of outbox topics: each app declares its own in `<app>/events.py` with `topic(...)`.

A declaration names the topic, its payload version, when it fires and what its payload carries.
`outbox_emit` stamps the version on the event and refuses an undeclared topic; with
`OUTBOX_CHECK_PAYLOADS` on (tests, debug) it also refuses a payload key the declaration does not
list, so the catalogue cannot drift from the code. docs/events.md is generated from it
(`./mallard manage events_doc`) and a test fails when the file is stale.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules


class UndeclaredTopic(LookupError):
    """An event was emitted under a topic no `<app>/events.py` declares."""


@dataclass(frozen=True)
class Topic:
    name: str
    app: str
    fires: str  # when it is emitted, in one sentence
    payload: dict[str, str]  # key -> what it holds
    version: int = 1
    optional: frozenset[str] = field(default_factory=frozenset)  # keys present only in some events


_TOPICS: dict[str, Topic] = {}
_discovered = False


def topic(name: str, *, app: str, fires: str, payload: dict[str, str], version: int = 1,
          optional: tuple[str, ...] = ()) -> Topic:
    """Declare a topic (at import time of `<app>/events.py`). Declaring it twice alike is harmless."""
    declared = Topic(name=name, app=app, fires=fires, payload=dict(payload), version=version,
                     optional=frozenset(optional))
    existing = _TOPICS.get(name)
    if existing is not None and existing != declared:
        raise ValueError(f"topic {name!r} is declared twice, differently ({existing.app} and {app})")
    _TOPICS[name] = declared
    return declared


def _discover() -> None:
    """Import every app's events.py. An app may also declare its topics as a plain table,
    `TOPICS = {name: {"when": ..., "payload": {...}, "version": 1}}`, read here."""
    global _discovered
    if _discovered:
        return
    import sys

    from django.apps import apps

    autodiscover_modules("events")
    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.events")
        for name, spec in (getattr(module, "TOPICS", None) or {}).items():
            topic(name, app=config.label, fires=str(spec["when"]), payload=dict(spec.get("payload") or {}),
                  version=int(spec.get("version", 1)), optional=tuple(spec.get("optional", ())))
    _discovered = True


def topic_get(name: str) -> Topic:
    _discover()
    try:
        return _TOPICS[name]
    except KeyError:
        raise UndeclaredTopic(f"outbox topic {name!r} is not declared: add it to its app's events.py") from None


def topic_list() -> list[Topic]:
    _discover()
    return sorted(_TOPICS.values(), key=lambda t: t.name)


def payload_check(name: str, payload: dict) -> None:
    """Refuse keys the declaration does not list (the declared shape is the contract subscribers read)."""
    declared = topic_get(name)
    extra = sorted(set(payload) - set(declared.payload))
    if extra:
        raise ValueError(f"outbox topic {name!r}: payload keys {extra} are not declared in {declared.app}/events.py")


def events_markdown() -> str:
    """docs/events.md, generated from the declarations and the registered subscribers."""
    from core.outbox import subscribers_for

    out = ["# Events", "",
           "Every outbox topic, generated from the apps' `events.py` by `./mallard manage events_doc`",
           "(tests/core/test_events_doc.py fails when this file is stale). Events are written in the same",
           "transaction as the change; each subscriber gets its own delivery (docs/architecture.md, \"The outbox\").",
           "Keys marked *optional* appear only in some events of the topic.", ""]
    for t in topic_list():
        if t.app == "tests":  # topics and subscribers the test suite registers for itself
            continue
        out += [f"## `{t.name}` (v{t.version}, {t.app})", "", t.fires, ""]
        subs = [s for s in subscribers_for(t.name) if not s.func.__module__.startswith("tests")]
        if subs:
            out += ["Subscribers: " + ", ".join(f"`{s.name}`" + (" (outside effect)" if s.external else "") for s in subs), ""]
        out += ["| key | holds |", "| --- | --- |"]
        for key, what in t.payload.items():
            out.append(f"| `{key}` | {what}{' *(optional)*' if key in t.optional else ''} |")
        out.append("")
    return "\n".join(out)
