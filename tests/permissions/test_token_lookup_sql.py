"""permissions/sql.py's hand-written token look-up (every API request) reads what the ORM reads."""
from __future__ import annotations

import hashlib

from django.db import connection
from django.test.utils import CaptureQueriesContext

from permissions.models import ApiToken, User
from permissions.selectors import api_token_authenticate
from permissions.services import api_token_create, api_token_revoke


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_token_and_its_user_equal_the_orm_rows(mall):
    user = mall.users["acme:owner"]
    _, secret = api_token_create(user=user, name="lookup")
    with CaptureQueriesContext(connection) as ctx:
        token = api_token_authenticate(secret)
    orm = ApiToken.objects.select_related("user").get(digest=hashlib.sha256(secret.encode()).hexdigest())
    assert _fields(token) == {**_fields(orm), "last_used_at": token.last_used_at}  # first use stamps last_used_at
    assert _fields(token.user) == _fields(User.objects.get(pk=user.pk)) and token.user.email == user.email
    assert token._state.adding is False and token.user._state.adding is False
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["SELECT", "UPDATE"]  # never used before: stamped
    with CaptureQueriesContext(connection) as ctx:
        again = api_token_authenticate(secret)
    assert again.pk == token.pk and len(ctx.captured_queries) == 1  # used within the minute: the read alone


def test_unknown_revoked_and_inactive_find_nothing(mall):
    user = mall.users["nobody"]
    token, secret = api_token_create(user=user, name="gone")
    assert api_token_authenticate(secret + "x") is None
    api_token_revoke(token=token)
    assert api_token_authenticate(secret) is None
    _, secret2 = api_token_create(user=user, name="inactive")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api_token_authenticate(secret2) is None
