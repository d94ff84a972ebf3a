"""Per-token rate limit (core.ratelimit) against the real Redis of REDIS_URL: a burst, then 429 with
Retry-After and X-RateLimit-* headers; another token and a browser session are not affected."""
from __future__ import annotations

import math
import time

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from permissions.services import api_token_create

BURST, PER_MINUTE = 3, 6  # one request every 10 s once the burst is spent


@pytest.fixture(autouse=True)
def _limit(settings):
    assert django_settings.REDIS_URL, "the rate limit is tested against a real Redis: set REDIS_URL"
    redis.Redis.from_url(django_settings.REDIS_URL).ping()
    settings.API_RATE_LIMIT_PER_MINUTE, settings.API_RATE_LIMIT_BURST = PER_MINUTE, BURST


def _token(mall, user_key="acme:owner"):
    _, secret = api_token_create(user=mall.users[user_key], name="erp", merchant=mall.acme)
    client = APIClient(HTTP_HOST="acme.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_the_request_after_the_burst_gets_429_with_retry_after_and_another_token_is_not_affected(mall):
    erp = _token(mall)
    started = time.monotonic()
    answers = [erp.get("/api/v1/merchant/") for _ in range(BURST)]
    assert [r.status_code for r in answers] == [200] * BURST
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {str(PER_MINUTE)}
    refused = erp.get("/api/v1/merchant/")
    elapsed = time.monotonic() - started
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    # the bucket refills one request per 10 s: the next one is allowed 10 s after the burst began, less the time taken
    retry_after = int(refused.headers["Retry-After"])
    assert math.ceil(60 / PER_MINUTE - elapsed) <= retry_after <= 60 / PER_MINUTE, (retry_after, elapsed)
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["X-RateLimit-Limit"] == str(PER_MINUTE)
    # a write is refused the same way, before it does anything
    assert erp.post("/api/v1/stock/", {}, format="json", HTTP_IDEMPOTENCY_KEY="rl-1").status_code == 429
    # another token (another integration of the same store, same user even) has its own bucket
    other = _token(mall)
    assert other.get("/api/v1/merchant/").status_code == 200
    assert _token(mall, "acme:manager").get("/api/v1/merchant/").status_code == 200


def test_a_browser_session_is_not_limited(mall, client_at):
    page = client_at(mall.acme, mall.users["acme:owner"])
    answers = [page.get("/api/v1/merchant/") for _ in range(BURST + 3)]
    assert [r.status_code for r in answers] == [200] * (BURST + 3)
    assert "X-RateLimit-Limit" not in answers[-1].headers


def test_the_bucket_refills_with_time(mall, settings):
    settings.API_RATE_LIMIT_PER_MINUTE, settings.API_RATE_LIMIT_BURST = 600, 1  # one request every 0.1 s
    erp = _token(mall)
    assert erp.get("/api/v1/merchant/").status_code == 200
    refused = erp.get("/api/v1/merchant/")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    deadline = time.monotonic() + 5
    while erp.get("/api/v1/merchant/").status_code == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(0.05)


def test_without_redis_the_same_bucket_runs_in_the_process(mall, settings):
    settings.REDIS_URL = ""  # the embedded demo: no Redis
    erp = _token(mall)
    assert [erp.get("/api/v1/merchant/").status_code for _ in range(BURST + 1)] == [200] * BURST + [429]
    assert _token(mall).get("/api/v1/merchant/").status_code == 200


def test_with_redis_unreachable_requests_are_served_not_failed(mall, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    erp = _token(mall)
    assert [erp.get("/api/v1/merchant/").status_code for _ in range(BURST + 1)] == [200] * (BURST + 1)
