"""The per-process host -> merchant cache of the routing middleware."""
import pytest

from core.tenancy import in_public_schema
from merchants.services import merchant_reinstate, merchant_suspend
from tenants import middleware


@pytest.fixture
def cache_on(monkeypatch):
    monkeypatch.setattr(middleware, "HOST_CACHE_SECONDS", 60.0)
    middleware.host_cache_clear()
    yield
    middleware.host_cache_clear()


def _suspend(merchant):
    with in_public_schema():  # a request through the test client leaves the connection in its schema
        merchant_suspend(merchant=merchant, reason="unpaid fees")


def _reinstate(merchant):
    with in_public_schema():
        merchant_reinstate(merchant=merchant)


def test_suspension_takes_effect_at_once_in_this_process(mall, client_at, cache_on):
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert client.get("/").status_code == 200
    assert any(m.pk == mall.acme.pk for _exp, m in middleware._host_cache.values())  # the host is cached
    _suspend(mall.acme)
    assert client.get("/").status_code == 403
    _reinstate(mall.acme)
    assert client.get("/").status_code == 200


def test_other_processes_see_a_change_after_the_ttl(mall, client_at, cache_on, monkeypatch):
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert client.get("/").status_code == 200
    saved = dict(middleware._host_cache)
    _suspend(mall.acme)
    middleware._host_cache.update(saved)  # as if the save had happened in another worker
    assert client.get("/").status_code == 200  # stale within the TTL: the documented trade-off
    monkeypatch.setattr(middleware.time, "monotonic", lambda: 10**9)  # the TTL has passed
    assert client.get("/").status_code == 403
    _reinstate(mall.acme)


def test_unknown_hosts_are_not_cached(db, cache_on):
    from django.test import Client

    assert Client(HTTP_HOST="nosuchstore.localhost").get("/").status_code == 404
    assert "nosuchstore.localhost" not in middleware._host_cache
