"""The served OpenAPI schemas tell the truth: schemathesis calls every operation of the mall host's
schema as a shopper and of a merchant host's schema as its owner, in process (WSGI) inside the
test's transaction, and checks each answer: no 5xx, a documented status code and content type,
and a body matching the documented schema. Bounded and derandomized (the same cases every run)."""
from __future__ import annotations

import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from catalog.models import Variant, Warehouse
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create
from orders.services.cart import cart_add_line, cart_get_or_create
from permissions.services import api_token_create
from suborders.models import SubOrder
from suborders.services import suborder_accept
from tenants.selectors import merchant_host
from tests.payments.helpers import pay, place_order

# Examples per operation: ~40 operations on two hosts stay within a couple of minutes on a busy machine.
MAX_EXAMPLES = 10
REPORT_CHARS = 1500  # of each failure's report (response body, curl command)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """Hundreds of calls with one token would mostly be answered 429 (documented, so they would pass)
    and test nothing else; tests/api/test_rate_limit.py covers the limit."""
    settings.API_RATE_LIMIT_PER_MINUTE = 0


@pytest.fixture
def wsgi_app(mall):
    """Django's WSGI app on the test's connection, each request in a savepoint.

    A real request's end would close the connection and with it the transaction every test rolls
    back (Django's test client disconnects the same two receivers). A refused request's savepoint is
    rolled back, so one failed statement cannot poison the rest of the run.
    """
    django_app = WSGIHandler()

    def app(environ, start_response):
        answered = {}

        def start(status, headers, exc_info=None):
            answered["status"] = int(status[:3])
            return start_response(status, headers, exc_info)

        with transaction.atomic():
            body = b"".join(django_app(environ, start))
            if answered["status"] >= 400:
                transaction.set_rollback(True)
        return [body]

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _support_ticket(mall, order) -> int:
    from support.services import ticket_open

    ticket, _ = ticket_open(shopper=mall.users["shopper"], order_number=order.number, merchant_id=mall.acme.pk,
                            subject="Schemathesis", body="A ticket to act on")
    return ticket.pk


def _after_sales_ids(mall) -> dict:
    """An accepted acme suborder its shopper asked to cancel; that shopper is one of acme's customers."""
    from suborders.cancellations import suborder_shopper_cancel
    from suborders.customers import customer_key

    order, _ = place_order(mall)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        out = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=so.shopper_email, reason="schemathesis")
        return {"request_id": out.request_id, "key": customer_key(so.shopper_email)}


def _delivered_with_return(mall):
    """A delivered acme parcel of the shopper with a return requested (returns)."""
    from returns.services import return_request_create
    from tests.returns.helpers import delivered_suborder

    order, so, _ = delivered_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        ret = return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind="return",
                                    lines=[(so.lines.order_by("pk").first().pk, 1)], reason_code="damaged")
    return order, ret.pk


def _served_schema(app, host: str, token: str, real_ids: dict):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers={"Host": host})
    schema.config.base_url = f"http://{host}"
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    schema.real_ids = real_ids  # path parameter -> the id of a real object, for the third pass
    return schema


@pytest.fixture
def mall_schema(mall, wsgi_app):
    """The mall host as the shopper, with an order (paid) and a cart line of theirs to act on."""
    order, items = place_order(mall)
    pay(order)
    cart = cart_get_or_create(shopper=mall.users["shopper"])
    line = cart_add_line(cart=cart, merchant_id=items[0]["merchant_id"], variant_id=items[0]["variant_id"], quantity=1)
    spare, _ = api_token_create(user=mall.users["shopper"], name="spare", merchant=None)  # one to revoke
    _, secret = api_token_create(user=mall.users["shopper"], name="schemathesis", merchant=None)
    ticket_id = _support_ticket(mall, order)
    delivered, return_id = _delivered_with_return(mall)  # returns: the order's number is the delivered one's
    return _served_schema(wsgi_app, "localhost", secret, {"number": delivered.number, "line_id": line.pk, "token_id": spare.pk,
                                                          "ticket_id": ticket_id, "merchant_id": mall.acme.pk,
                                                          "return_id": return_id})


@pytest.fixture
def merchant_schema(mall, wsgi_app):
    """Acme's host as its owner, with a shipped suborder (and its order, product, variant, shipment) and a
    paid suborder awaiting acceptance."""
    shipped, _ = place_order(mall)
    pay(shipped)
    waiting, items = place_order(mall)
    pay(waiting)
    with in_merchant_schema(mall.acme):
        suborder = SubOrder.objects.get(order_id=shipped.pk)
        suborder_accept(suborder_id=suborder.pk, actor=mall.users["acme:owner"])
        shipment = shipment_create(suborder_id=suborder.pk, actor=mall.users["acme:owner"], lines=None, carrier="sf",
                                   tracking_number=f"SF{time.time_ns() % 10**13:013d}")
        variant = Variant.objects.get(pk=items[0]["variant_id"])
        real_ids = {"suborder_id": SubOrder.objects.get(order_id=waiting.pk).pk, "shipment_id": shipment.pk,
                    "number": waiting.number, "product_id": variant.product_id, "variant_id": variant.pk,
                    "warehouse_id": Warehouse.objects.order_by("pk").values_list("pk", flat=True).first()}
        from tests.webhooks.helpers import endpoint_with_delivery

        endpoint, delivery = endpoint_with_delivery()
        real_ids.update(endpoint_id=endpoint.pk, delivery_id=delivery.pk)
        from automation.services import rule_create

        real_ids["rule_id"] = rule_create(actor=mall.users["acme:owner"], name="schemathesis rule", trigger="paid",
                                          conditions={}, actions=[{"type": "add_tag", "tag": "api"}]).pk  # switched off
    from imports.models import OrderImportJob

    real_ids["job_id"] = str(OrderImportJob.objects.create(merchant=mall.acme, filename="orders.csv", channel="shopify",
                                                           status="done", created_by=mall.users["acme:owner"]).pk)
    real_ids["ticket_id"] = _support_ticket(mall, waiting)  # support: a ticket of the shopper's at acme
    real_ids["return_id"] = _delivered_with_return(mall)[1]  # returns: a requested return at acme
    real_ids.update(_after_sales_ids(mall))  # a shopper's cancellation request and a customer's key (suborders)
    _, secret = api_token_create(user=mall.users["acme:owner"], name="schemathesis", merchant=mall.acme)
    return _served_schema(wsgi_app, merchant_host(mall.acme), secret, real_ids)


def _run_every_operation(schema) -> tuple[list[str], dict[str, set[int]]]:
    """Every operation: valid cases, invalid ones, and valid ones on real objects where the path names
    only ids we made. Returns one line per operation that fails a check, and each operation's statuses."""
    failures, statuses = [], {}
    for result in schema.get_all_operations():
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        passes = [("positive", operation.as_strategy(generation_mode=GenerationMode.POSITIVE), MAX_EXAMPLES),
                  ("negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), MAX_EXAMPLES // 2)]
        if names and all(name in schema.real_ids for name in names):
            real = {name: schema.real_ids[name] for name in names}
            passes.append(("real objects", operation.as_strategy(path_parameters=real), MAX_EXAMPLES // 2))
        for mode, strategy, examples in passes:
            @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                response = case.call_and_validate(base_url=schema.config.base_url, headers=dict(schema.config.headers),
                                                  checks=CHECKS)
                statuses.setdefault(f"{case.method.upper()} {case.operation.path}", set()).add(response.status_code)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing in this operation can be made invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {str(exc)[:REPORT_CHARS]}")
    return failures, statuses


def _reads_never_answered(statuses) -> list[str]:
    """GET operations that never answered 2xx: the run must reach real answers, not only refusals."""
    return sorted(op for op, seen in statuses.items() if op.startswith("GET ") and not any(200 <= c < 300 for c in seen))


def test_mall_api_as_a_shopper(mall_schema):
    failures, statuses = _run_every_operation(mall_schema)
    assert not failures, "\n\n".join(failures)
    assert _reads_never_answered(statuses) == []


def test_merchant_api_as_the_owner(merchant_schema):
    failures, statuses = _run_every_operation(merchant_schema)
    assert not failures, "\n\n".join(failures)
    assert _reads_never_answered(statuses) == ["GET /api/v1/drafts/{draft_id}/"]  # no draft is made
