"""A local stand-in for Stripe's API, for the tests: the endpoints our adapter calls, answered in the
JSON shapes of Stripe's API reference, form-encoded requests parsed as Stripe parses them, the
Idempotency-Key honoured as Stripe does, and every request counted.

It also plays Stripe's other side: `pay` is the shopper finishing the hosted Checkout page, `event`
builds a webhook event and signs it as Stripe signs (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "<t>.<body>">`), so verification in the adapter runs through the real SDK.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_INT_FIELDS = {"amount", "amount_to_capture", "unit_amount", "quantity", "limit"}
_seq = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{next(_seq):05d}{secrets.token_hex(6)}"


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding back into objects: a[b]=1, a[c][0][d]=2 -> {"a": {"b": "1", "c": [{"d": "2"}]}}."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = int(value) if parts[-1] in _INT_FIELDS and value.lstrip("-").isdigit() else value

    def lists(node):
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str = "", param: str = ""):
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message, **({"code": code} if code else {}),
                                                    **({"param": param} if param else {})}}


def _missing(name: str) -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such object: '{name}'", code="resource_missing", param="id")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of parallel requests must queue, not be refused


class StripeServer:
    """Start with `.start()`; `.url` is its base address. State is guarded by one lock."""

    def __init__(self, *, api_key: str, webhook_secret: str, api_version: str):
        self.api_key, self.webhook_secret, self.api_version = api_key, webhook_secret, api_version
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self._intent_data: dict[str, dict] = {}  # session id -> its payment_intent_data (Stripe keeps it, never shows it)
        self._idempotent: dict[tuple[str, str], tuple[str, dict, int, dict]] = {}  # (api key, key) -> (route, params, status, body)
        self.requests: Counter[str] = Counter()  # "POST /v1/checkout/sessions" -> requests received (replays too)
        self.created: Counter[str] = Counter()  # "checkout.session" -> objects created
        self.log: list[dict] = []  # every request: method, path, params, idempotency_key, stripe_version
        self.refund_status = "succeeded"  # what a new refund's status is (cards: succeeded; some methods: pending)
        self.fail_next: dict[str, list[int]] = {}  # "POST /v1/refunds" -> statuses to answer before executing
        self._http: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> StripeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server._handle(self, "GET")

            def do_POST(self):
                server._handle(self, "POST")

            def log_message(self, *args):
                pass

        self._http = _HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True, name="stripe-server").start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    # --- HTTP -------------------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(req.path)
        path = split.path
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length).decode() if length else ""
        params = decode_form(parse_qsl(split.query if method == "GET" else raw, keep_blank_values=True))
        key = req.headers.get("Idempotency-Key") or ""
        route = f"{method} {path}"
        with self.lock:
            self.requests[route] += 1
            self.log.append({"method": method, "path": path, "params": params, "idempotency_key": key,
                             "stripe_version": req.headers.get("Stripe-Version", "")})
            status, body, replayed = self._answer(req, method, path, route, params, key)
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        if key:
            req.send_header("Idempotency-Key", key)
        if replayed:
            req.send_header("Idempotent-Replayed", "true")
        if status >= 500:
            req.send_header("Stripe-Should-Retry", "true")
        req.end_headers()
        req.wfile.write(data)

    def _answer(self, req, method, path, route, params, key) -> tuple[int, dict, bool]:
        if req.headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, StripeError(401, "invalid_request_error", "Invalid API Key provided.").body, False
        failures = self.fail_next.get(route)
        if failures:  # a failure in front of the API (nothing executed, nothing saved for the key)
            status = failures.pop(0)
            return status, StripeError(status, "api_error", "Something went wrong on Stripe's end.").body, False
        scoped = (self.api_key, key)
        if method == "POST" and key and scoped in self._idempotent:
            first_route, first_params, status, body = self._idempotent[scoped]
            if (first_route, first_params) != (route, params):
                return 400, StripeError(400, "idempotency_error", "Keys for idempotent requests can only be used with the "
                                        "same parameters they were first used with.").body, False
            return status, body, True
        try:
            status, body = 200, self._route(method, path, params)
        except StripeError as err:
            status, body = err.status, err.body
        if method == "POST" and key:  # Stripe saves the first result, error or not
            self._idempotent[scoped] = (route, params, status, body)
        return status, body, False

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if len(parts) == 3:
                return self._session_create(params) if method == "POST" else self._session_list(params)
            session = self._get(self.sessions, parts[3])
            if len(parts) == 4 and method == "GET":
                return dict(session)
            if len(parts) == 5 and parts[4] == "expire" and method == "POST":
                return self._session_expire(session)
        if parts[:2] == ["v1", "payment_intents"] and len(parts) >= 3:
            intent = self._get(self.intents, parts[2])
            if len(parts) == 3 and method == "GET":
                return self.public(intent)
            if len(parts) == 4 and method == "POST" and parts[3] in ("capture", "cancel"):
                return self._intent_capture(intent, params) if parts[3] == "capture" else self._intent_cancel(intent)
        if parts[:2] == ["v1", "refunds"]:
            if len(parts) == 2 and method == "POST":
                return self._refund_create(params)
            if len(parts) == 3 and method == "GET":
                return dict(self._get(self.refunds, parts[2]))
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _get(table: dict, object_id: str) -> dict:
        if object_id not in table:
            raise _missing(object_id)
        return table[object_id]

    # --- API objects --------------------------------------------------------------------------------

    def _session_create(self, p: dict) -> dict:
        if p.get("mode") != "payment" or not p.get("line_items") or not p.get("success_url"):
            raise StripeError(400, "invalid_request_error", "Missing required param: mode, line_items or success_url.",
                              code="parameter_missing")
        items = p["line_items"]
        currencies = {li["price_data"]["currency"] for li in items}
        if len(currencies) != 1 or next(iter(currencies)) != next(iter(currencies)).lower():
            raise StripeError(400, "invalid_request_error", "Invalid currency.", param="line_items[0][price_data][currency]")
        total = sum(li["price_data"]["unit_amount"] * li["quantity"] for li in items)
        now = int(time.time())
        sid = _new_id("cs")
        session = {
            "id": sid, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
            "cancel_url": p.get("cancel_url"), "client_reference_id": p.get("client_reference_id"), "created": now,
            "currency": next(iter(currencies)), "customer_email": p.get("customer_email"), "expires_at": now + 86400,
            "livemode": False, "metadata": p.get("metadata", {}), "mode": "payment", "payment_intent": None,
            "payment_status": "unpaid", "status": "open", "success_url": p["success_url"],
            "url": f"{self.url}/c/pay/{sid}",
        }
        self.sessions[sid] = session
        self._intent_data[sid] = p.get("payment_intent_data", {})
        self.created["checkout.session"] += 1
        return dict(session)

    def _session_list(self, p: dict) -> dict:
        rows = [s for s in self.sessions.values() if not p.get("payment_intent") or s["payment_intent"] == p["payment_intent"]]
        rows.sort(key=lambda s: s["created"], reverse=True)
        limit = int(p.get("limit", 10))
        return {"object": "list", "data": [dict(s) for s in rows[:limit]], "has_more": len(rows) > limit,
                "url": "/v1/checkout/sessions"}

    def _session_expire(self, session: dict) -> dict:
        if session["status"] != "open":
            raise StripeError(400, "invalid_request_error", "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                              code="checkout_session_not_open")
        session["status"] = "expired"
        session["url"] = None
        return dict(session)

    def _intent_capture(self, intent: dict, p: dict) -> dict:
        if intent["status"] != "requires_capture":
            raise StripeError(400, "invalid_request_error", f"This PaymentIntent could not be captured because it has a "
                              f"status of {intent['status']}.", code="payment_intent_unexpected_state")
        amount = int(p.get("amount_to_capture", intent["amount_capturable"]))
        if not 0 < amount <= intent["amount_capturable"]:
            raise StripeError(400, "invalid_request_error", "amount_to_capture is larger than amount_capturable.",
                              code="amount_too_large", param="amount_to_capture")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return self.public(intent)

    def _intent_cancel(self, intent: dict) -> dict:
        if intent["status"] in ("succeeded", "canceled"):
            raise StripeError(400, "invalid_request_error", f"You cannot cancel this PaymentIntent because it has a status of "
                              f"{intent['status']}.", code="payment_intent_unexpected_state")
        intent.update(status="canceled", amount_capturable=0, canceled_at=int(time.time()))
        return self.public(intent)

    def _refund_create(self, p: dict) -> dict:
        intent = self._get(self.intents, p.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error", "This PaymentIntent does not have a successful charge to refund.",
                              code="charge_not_refundable")
        left = intent["amount_received"] - intent["_refunded"]
        amount = int(p.get("amount", left))
        if not 0 < amount <= left:
            raise StripeError(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded amount "
                              f"on charge ({left}).", code="amount_too_large", param="amount")
        intent["_refunded"] += amount
        refund = {"id": _new_id("re"), "object": "refund", "amount": amount, "balance_transaction": None,
                  "charge": intent["latest_charge"], "created": int(time.time()), "currency": intent["currency"],
                  "metadata": p.get("metadata", {}), "payment_intent": intent["id"], "reason": p.get("reason"),
                  "status": self.refund_status}
        self.refunds[refund["id"]] = refund
        self.created["refund"] += 1
        return dict(refund)

    # --- Stripe's other side ----------------------------------------------------------------------

    def pay(self, session_id: str, outcome: str = "succeeded") -> dict:
        """The shopper on the hosted page: the session's PaymentIntent (made on first use) moves to
        `outcome` (succeeded | requires_action | failed). Returns the PaymentIntent as Stripe shows it."""
        with self.lock:
            session = self.sessions[session_id]
            data = self._intent_data[session_id]
            intent = self.intents.get(session["payment_intent"] or "")
            if intent is None:
                intent = {"id": _new_id("pi"), "object": "payment_intent", "amount": session["amount_total"],
                          "amount_capturable": 0, "amount_received": 0, "capture_method": data.get("capture_method", "automatic_async"),
                          "created": int(time.time()), "currency": session["currency"], "last_payment_error": None,
                          "latest_charge": None, "livemode": False, "metadata": data.get("metadata", {}),
                          "status": "requires_payment_method", "transfer_group": data.get("transfer_group"), "_refunded": 0}
                self.intents[intent["id"]] = intent
                session["payment_intent"] = intent["id"]
                self.created["payment_intent"] += 1
            if outcome == "succeeded":
                manual = intent["capture_method"] == "manual"
                intent.update(status="requires_capture" if manual else "succeeded", latest_charge=_new_id("ch"),
                              amount_capturable=0 if not manual else intent["amount"],
                              amount_received=0 if manual else intent["amount"])
                session.update(status="complete", payment_status="unpaid" if manual else "paid", url=None)
            elif outcome == "requires_action":
                intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"})
            elif outcome == "failed":
                intent.update(status="requires_payment_method", last_payment_error={
                    "type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."})
            else:
                raise ValueError(outcome)
            return self.public(intent)

    def refund_settle(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict:
        """Stripe finishing a pending refund (succeeded | failed)."""
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = failure_reason or "unknown"
            return dict(refund)

    @staticmethod
    def public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def event(self, kind: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> bytes:
        """A webhook event body as Stripe sends it (snapshot payload)."""
        return json.dumps({
            "id": event_id or _new_id("evt"), "object": "event", "api_version": self.api_version,
            "created": int(time.time()) if created is None else created, "data": {"object": self.public(obj)},
            "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": kind,
        }, indent=2).encode()

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.{body.decode()}".encode(), hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={t},v1={mac}"}
