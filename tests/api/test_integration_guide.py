"""docs/api.md "Integrating your ERP/WMS" is true: its fenced curl examples run, with the real `curl`, against
a live server on acme's host, with the example host, token and tracking number replaced by real ones and
the ids the examples name ($SUBORDER, $SHIPMENT, $SKU, $WAREHOUSE, $NEXT) taken from real rows and from
earlier answers. Every example has its check below: a new example without one fails the test."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from catalog.models import StockLevel, StockMovement, Warehouse
from core.tenancy import in_merchant_schema
from permissions.services import api_token_create
from suborders.models import SubOrder
from tests.orders.factories import stock_item
from tests.payments.helpers import pay, place_order

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "## Integrating your ERP/WMS"


@pytest.fixture
def transactional_db(committed):
    """live_server pulls in transactional_db, whose flush would wipe the session's merchants (see
    tests/e2e/conftest.py): here too it means `committed`: rows commit and stay."""
    return committed


def _examples() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    assert SECTION in text, f"{GUIDE} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert all("curl " in b for b in blocks)
    return blocks


def _run(block: str, env: dict) -> dict:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"example failed ({done.returncode}):\n{block}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return json.loads(done.stdout)


def test_the_curl_examples_of_the_integration_guide_run_against_a_live_server(live_server, committed):
    assert shutil.which("curl"), "the guide's examples are run with the real curl binary"
    mall = committed
    port = int(live_server.url.rsplit(":", 1)[1])
    order, _items = place_order(mall, stores=("acme",), qty=2)
    pay(order)
    item = stock_item(mall.acme, stock=(10,))
    with in_merchant_schema(mall.acme):
        suborder_id = SubOrder.objects.get(order_id=order.pk).pk
        code = Warehouse.objects.get(pk=item["warehouse_ids"][0]).code
    user = mall.users["acme:owner"]
    _token, secret = api_token_create(user=user, name="erp", merchant=mall.acme)
    tracking = f"SF{uuid.uuid4().int % 10**13:013d}"
    # the first example exports MALLARD and TOKEN (replaced by the real ones); the others run after it, as in one shell
    env = {"MALLARD": f"http://acme.localhost:{port}", "TOKEN": secret, "SUBORDER": str(suborder_id), "SKU": item["sku"],
           "WAREHOUSE": code}

    blocks = _examples()

    def me(body):
        assert body["email"] == user.email

    seen: set[int] = set()

    def changes(body):
        env["NEXT"] = body["next"]
        seen.update(r["id"] for r in body["results"])

    def changes_after(body):
        assert suborder_id in seen, "the change feed never returned the new suborder"

    def one(body):
        assert body["id"] == suborder_id and body["status"] == "awaiting_acceptance" and body["payment"]["paid"] is True
        assert body["returns"] == [] and body["channel"] == "mallard" and body["lines"][0]["quantity"] == 2

    def accepted(body):
        assert body["status"] == "accepted" and body["lines"][0]["accepted_qty"] == 2

    def shipped(body):
        assert body["tracking_number"] == tracking and body["status"] == "shipped"
        env["SHIPMENT"] = str(body["id"])

    def scanned(body):
        assert body["created"] is True and body["shipment"]["status"] == "delivered"

    def stock(body):
        assert [(r["warehouse"], r["on_hand"], r["available"]) for r in body["results"]] == [(code, 10, 10)]

    def counted(body):
        assert (body["on_hand"], body["movement"]["kind"]) == (40, "stocktake")

    def damaged(body):
        assert (body["on_hand"], body["movement"]["on_hand_delta"], body["movement"]["reason"]) == (38, -2, "damaged")

    checks = [me, changes, changes_after, one, accepted, shipped, scanned, stock, counted, damaged]
    assert len(blocks) == len(checks), f"docs/api.md has {len(blocks)} examples in {SECTION!r}; give each a check here"
    for block, check in zip(blocks, checks, strict=True):
        block = (block.replace("https://acme.mall.example", f"http://acme.localhost:{port}").replace("mlt_your_secret", secret)
                 .replace("SF1234567890123", tracking))
        body = _run(block, env)
        if check is changes_after:
            # follow `next` until our suborder has come (rows of earlier tests come first), as an ERP would
            for _ in range(200):
                seen.update(r["id"] for r in body["results"])
                if suborder_id in seen:
                    break
                if not body["has_more"]:
                    time.sleep(0.2)  # a writer of this database still running holds the feed back a moment
                env["NEXT"] = body["next"]
                body = _run(block, env)
        check(body)

    with in_merchant_schema(mall.acme):
        level = StockLevel.objects.get(variant_id=item["variant_id"], warehouse_id=item["warehouse_ids"][0])
        kinds = list(StockMovement.objects.filter(variant_id=item["variant_id"]).order_by("pk")
                     .values_list("kind", "on_hand_delta", "actor_id"))
        so = SubOrder.objects.get(pk=suborder_id)
    assert (level.on_hand, level.reserved) == (38, 0)
    assert kinds[-2:] == [("stocktake", 30, user.pk), ("adjustment", -2, user.pk)]
    assert so.status == "delivered"
