import pytest

from core.errors import WrongSchema
from core.tenancy import (
    assert_merchant_schema,
    assert_public_schema,
    current_schema,
    in_merchant_schema,
    merchant_only,
    platform_only,
)
from merchants.services import merchant_create


@merchant_only
def merchant_level():
    return current_schema()


@platform_only
def platform_level():
    return current_schema()


def test_merchant_code_fails_loudly_in_public(mall):
    with pytest.raises(WrongSchema):
        merchant_level()
    with pytest.raises(WrongSchema):
        assert_merchant_schema()


def test_platform_code_fails_loudly_in_merchant_schema(mall):
    with in_merchant_schema(mall.acme):
        assert merchant_level() == "m_acme"
        with pytest.raises(WrongSchema):
            platform_level()
        with pytest.raises(WrongSchema):
            assert_public_schema()
        with pytest.raises(WrongSchema):
            merchant_create(slug="sneaky", name="Sneaky")
    assert platform_level() == "public"


def test_switch_restores_previous_schema(mall):
    with in_merchant_schema(mall.acme):
        with in_merchant_schema(mall.globex):
            assert current_schema() == "m_globex"
        assert current_schema() == "m_acme"
    assert current_schema() == "public"


def test_cache_keys_carry_schema(mall, unique):
    from django.core.cache import cache

    key = unique("greeting")  # the cache may be a shared Redis that outlives test runs
    cache.set(key, "public-value")
    with in_merchant_schema(mall.acme):
        assert cache.get(key) is None
        cache.set(key, "acme-value")
    with in_merchant_schema(mall.globex):
        assert cache.get(key) is None
    assert cache.get(key) == "public-value"
    with in_merchant_schema(mall.acme):
        assert cache.get(key) == "acme-value"
        cache.delete(key)
    cache.delete(key)


def test_public_block_restores_public_even_if_the_block_switched(mall):
    from django.db import connection

    from core.tenancy import in_public_schema

    with in_public_schema():
        connection.set_tenant(mall.acme)  # as provisioning tools (clone, migrate_schemas) may do
    assert current_schema() == "public"
