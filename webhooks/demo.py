"""Demo webhooks for acme, recorded honestly (the demo has no receiver of its own):

* "Demo receiver": a receiver started on 127.0.0.1 for the seeding only gets a real test event through the
  real dispatcher (signed, 200 recorded); the receiver is then gone, so the endpoint is left disabled with
  that reason rather than failing for days.
* "ERP (unreachable)": https://erp.acme.example/… (the .example domain never resolves) gets a test event
  that fails with the resolver's error; the demo's worker keeps retrying it on the documented schedule,
  so its deliveries page shows the backoff, and it takes every suborder event from now on.

Registered in merchants.demo.DEMO_SEEDERS; safe to run again (skips a store that has its demo endpoints).
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test.utils import override_settings
from django.utils import timezone

from core.tenancy import in_merchant_schema

DEMO_RECEIVER = "Demo receiver (ran during seeding only)"
DEMO_ERP = "ERP (unreachable on purpose)"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok": true, "by": "mallard demo receiver"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _send_now(delivery_pk: int) -> None:
    from webhooks.dispatch import deliveries_claim_due, delivery_attempt

    for pk in deliveries_claim_due(now=timezone.now()):
        if pk == delivery_pk:
            delivery_attempt(delivery_pk=pk)


def seed_webhooks(merchants) -> None:
    from permissions.models import Membership
    from webhooks.models import WebhookEndpoint
    from webhooks.services import endpoint_create, endpoint_send_test, endpoint_update

    acme = next((m for m in merchants if m.slug == "acme"), None)
    if acme is None:
        return
    owner = (Membership.objects.filter(merchant=acme, is_active=True, roles__contains=["owner"]).select_related("user")
             .order_by("pk").first())
    if owner is None:
        return
    owner = owner.user
    with in_merchant_schema(acme):
        if WebhookEndpoint.objects.filter(description__in=[DEMO_RECEIVER, DEMO_ERP]).exists():
            return
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            # the seeding's own receiver is on loopback, which production rules refuse: allowed for this call only
            with override_settings(MALLARD_WEBHOOKS_ALLOW_PRIVATE=True):
                ep, _secret = endpoint_create(actor=owner, url=f"http://127.0.0.1:{server.server_address[1]}/mallard-hooks",
                                              event_types=["suborder.paid", "suborder.shipped"], description=DEMO_RECEIVER)
                _send_now(endpoint_send_test(actor=owner, endpoint_id=ep.pk).pk)
        finally:
            server.shutdown()
            server.server_close()
        endpoint_update(actor=owner, endpoint_id=ep.pk, enabled=False)
        WebhookEndpoint.objects.filter(pk=ep.pk).update(
            disabled_reason="The demo receiver only ran while the demo was seeded; point this endpoint at your own URL.")
        with override_settings(MALLARD_WEBHOOKS_ALLOW_PRIVATE=True):  # .example does not resolve: allow the registration
            erp, _secret = endpoint_create(actor=owner, url="https://erp.acme.example/hooks/mallard", event_types=["*"],
                                           description=DEMO_ERP)
        _send_now(endpoint_send_test(actor=owner, endpoint_id=erp.pk).pk)
