"""The demo's SMS provider: each message becomes one JSON line in SMS_FILE_PATH/messages.jsonl."""
from __future__ import annotations

import hashlib
import json
import threading

from django.conf import settings
from django.utils import timezone

from notifications.sms import SmsRequest

_lock = threading.Lock()


class ConsoleSmsProvider:
    name = "console"

    def send(self, request: SmsRequest) -> str:
        directory = settings.SMS_FILE_PATH
        directory.mkdir(parents=True, exist_ok=True)
        provider_id = "console-" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        line = json.dumps({"id": provider_id, "to": request.to, "body": request.body, "kind": request.kind,
                           "idempotency_key": request.idempotency_key, "at": timezone.now().isoformat()},
                          ensure_ascii=False)
        with _lock, open(directory / "messages.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return provider_id
