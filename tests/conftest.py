"""Test session: real PostgreSQL, tenants created once per session, every test rolls back.

Two merchants (acme and globex) always exist so isolation can be asserted everywhere. Tests
that need committed data (concurrency, browser) use the `committed` fixture: they write
uniquely named rows with autocommit and never count rows globally.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest
from django.db import connection

os.environ.setdefault("MALLARD_FAST_HASHER", "1")

PASSWORD = "test-pass-123"
_seq = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """Uploaded files (product images, the demo's pictures) go to a temporary directory, never var/media."""
    from django.conf import settings

    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@dataclass
class Mall:
    acme: object
    globex: object
    initech: object  # a third store, for three-merchant checkouts
    users: dict  # "acme:owner" -> User, "globex:warehouse" -> User, "shopper" -> User, "operator" -> User


def _build_mall():
    from merchants.services import merchant_create
    from permissions.models import User
    from permissions.roles import Role
    from permissions.services import membership_grant, user_create
    from tenants.models import Merchant
    from tenants.services import public_tenant_ensure, template_schema_ensure

    connection.set_schema_to_public()
    public_tenant_ensure()
    template_schema_ensure()
    users = {}
    merchants = {}
    for slug, name in (("acme", "Acme Outfitters"), ("globex", "Globex Electronics"), ("initech", "Initech Home")):
        merchant = Merchant.objects.filter(slug=slug).first() or merchant_create(slug=slug, name=name, contact_email=f"owner@{slug}.test")
        merchants[slug] = merchant
        for role in Role.values:
            email = f"{role}@{slug}.test"
            user = User.objects.filter(email=email).first() or user_create(email=email, password=PASSWORD)
            membership_grant(user=user, merchant=merchant, roles=[role])
            users[f"{slug}:{role}"] = user
    users["shopper"] = User.objects.filter(email="shopper@example.test").first() or user_create(email="shopper@example.test", password=PASSWORD)
    users["operator"] = User.objects.filter(email="operator@mallard.test").first() or user_create(email="operator@mallard.test", password=PASSWORD, is_staff=True)
    users["nobody"] = User.objects.filter(email="nobody@example.test").first() or user_create(email="nobody@example.test", password=PASSWORD)
    return Mall(acme=merchants["acme"], globex=merchants["globex"], initech=merchants["initech"], users=users)


def _ensure_test_database():
    """pytest-django only creates the test database when a selected test uses `db`/`live_server`.

    A run selecting only `committed` tests would otherwise write to the development database.
    """
    from django.test.utils import setup_databases

    if connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"]:
        return None
    return setup_databases(verbosity=0, interactive=False, aliases={"default"})


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        created = _ensure_test_database()
        _build_mall()
    yield
    if created is not None:
        from django.test.utils import teardown_databases

        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def mall_rows(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return _build_mall()


@pytest.fixture
def mall(mall_rows, db):
    connection.set_schema_to_public()
    return mall_rows


@pytest.fixture
def committed(mall_rows, django_db_blocker):
    """Database access without the per-test transaction: writes commit (for threads and browsers)."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield mall_rows
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _back_to_public():
    yield
    from django.utils import timezone, translation

    translation.activate("en")  # a test that switched language or zone must not leak it into the next
    timezone.deactivate()
    try:
        connection.set_schema_to_public()
    except Exception:
        pass


@pytest.fixture
def unique():
    """A short unique suffix for names in committed tests."""
    return lambda prefix="x": f"{prefix}{os.getpid()}-{next(_seq)}"


def host_of(merchant) -> str:
    from tenants.selectors import merchant_host

    return merchant_host(merchant)


@pytest.fixture
def client_at():
    """`client_at(merchant_or_None, user_or_None)`: a Django test client on that host, signed in."""
    from django.test import Client

    def make(merchant=None, user=None, **extra):
        host = host_of(merchant) if merchant is not None else "localhost"
        client = Client(HTTP_HOST=host, **extra)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api_at():
    """`api_at(merchant_or_None, user_or_None)`: a DRF API client on that host, token-authenticated."""
    from rest_framework.test import APIClient

    from permissions.services import api_token_create

    def make(merchant=None, user=None):
        host = host_of(merchant) if merchant is not None else "localhost"
        client = APIClient(HTTP_HOST=host)
        if user is not None:
            _, secret = api_token_create(user=user, name="test", merchant=merchant)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


def pytest_collection_modifyitems(items):
    # Browser tests commit rows and flush nothing; run them last so they never surprise other tests.
    items.sort(key=lambda item: 1 if "/e2e/" in str(item.fspath) else 0)
