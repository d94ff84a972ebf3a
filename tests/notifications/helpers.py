"""Notification test helpers: an event as the outbox hands it to a subscriber, with an id of its own."""
from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass, field

_ids = itertools.count(random.Random(os.getpid()).randrange(10**12, 2 * 10**12))


@dataclass
class FakeEvent:
    topic: str = "suborder.changed"
    payload: dict = field(default_factory=dict)
    aggregate_id: str = "0"
    pk: int = field(default_factory=lambda: next(_ids))

    @property
    def delivery_key(self) -> str:
        return f"{self.pk}:test-subscriber"


def shipped_notice(*, email: str, merchant_id: int, store: str = "Acme Outfitters", number: str = "M-TEST-1"):
    from notifications.services import Notice

    return Notice(kind="suborder_shipped", email=email, merchant_id=merchant_id,
                  context={"store": store, "number": number, "lines": [], "reason": "", "mall_host": "localhost",
                           "shipments": [{"carrier": "SF Express", "number": "SF1234567890123", "link": "", "eta": None}]})
