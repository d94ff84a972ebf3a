"""The UI shell: health check, language switch, and the translation catalogue."""
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_healthz_reports_database_and_broker_to_an_operator(mall, client_at):
    resp = client_at(None, mall.users["operator"]).get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["schema"] == "public"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    expected = "redis" if settings.CELERY_BROKER_URL.startswith("redis") else settings.CELERY_BROKER_URL.split(":", 1)[0]
    assert body["broker"]["transport"] == expected


def test_healthz_on_a_merchant_host_needs_no_login(mall, client_at):
    resp = client_at(mall.acme).get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}  # no details for anonymous callers
    resp = client_at(mall.acme, mall.users["operator"]).get("/healthz")
    assert resp.status_code == 200 and resp.json()["schema"] == "m_acme"


def test_healthz_says_degraded_when_the_broker_is_down(mall, client_at, monkeypatch):
    from kombu import Connection

    from core import views

    # A broker nobody listens on; the Celery app's own configuration and pool are left alone.
    monkeypatch.setattr(views, "_broker_connection", lambda: Connection("redis://127.0.0.1:1/0"))
    resp = client_at(None).get("/healthz")
    assert resp.status_code == 503 and resp.json() == {"status": "degraded"}
    resp = client_at(None, mall.users["operator"]).get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "degraded" and resp.json()["broker"]["ok"] is False
    assert resp.json()["database"]["ok"] is True


def _switch_to_chinese(client):
    resp = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert resp.status_code == 302
    return client


def test_dashboard_in_english_and_in_chinese(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    body = client.get("/").content.decode()
    assert "Your roles" in body and "<li>Owner</li>" in body and 'lang="en"' in body
    _switch_to_chinese(client)
    body = client.get("/").content.decode()
    assert 'lang="zh-hans"' in body
    assert "您的角色" in body and "<li>店主</li>" in body and "店铺后台" in body
    assert "Your roles" not in body


def test_login_and_error_pages_in_chinese(mall, client_at):
    client = _switch_to_chinese(client_at(mall.acme))
    assert "登录 Acme Outfitters" in client.get("/accounts/login/").content.decode()
    client = _switch_to_chinese(client_at(mall.acme, mall.users["globex:owner"]))
    resp = client.get("/")
    assert resp.status_code == 403 and "您的账号不是 Acme Outfitters 的成员。" in resp.content.decode()


def test_api_errors_follow_accept_language(mall):
    from rest_framework.test import APIClient

    resp = APIClient(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-hans").get(
        "/api/v1/me/", HTTP_AUTHORIZATION="Bearer mlt_nope")
    assert resp.status_code == 401 and resp.json()["message"] == "API 令牌无效或已撤销。"


def test_role_labels_are_translated():
    from permissions.roles import Role

    with translation.override("zh-hans"):
        assert [str(label) for label in Role.labels] == ["店主", "经理", "客服", "财务", "仓库"]


def _po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr (first plural form) from a .po file, without gettext tools."""
    text = path.read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue  # obsolete entries

        def field(key, block=block):
            m = re.search(r"^" + key + r' ((?:"(?:[^"\\]|\\.)*"\n?)+)', block + "\n", re.M)
            return None if m is None else "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))

        msgid = field("msgid")
        if msgid:
            context = field("msgctxt")  # the same English in two meanings: gettext's "context\x04msgid" key
            entries[f"{context}\x04{msgid}" if context else msgid] = field(r"msgstr(?:\[0\])?") or ""
    return entries


def test_every_string_has_a_chinese_translation():
    entries = _po_entries(LOCALE / "django.po")
    assert len(entries) > 100
    untranslated = [k for k, v in entries.items() if not v]
    assert untranslated == [], "translate these in locale/zh_Hans/LC_MESSAGES/django.po (see README)"
    fuzzy = re.findall(r"^#, .*fuzzy", (LOCALE / "django.po").read_text(encoding="utf-8"), re.M)
    assert fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    """django.mo is committed (a fresh machine needs no gettext); it must be compiled from the current .po."""
    with open(LOCALE / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    entries = _po_entries(LOCALE / "django.po")
    stale = []
    for msgid, msgstr in entries.items():
        key = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        want = msgstr.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        context, _, bare = key.rpartition("\x04")
        if (compiled.pgettext(context, bare) if context else compiled.gettext(key)) != want:
            stale.append(msgid)
    assert stale == [], "run: .venv/bin/python manage.py compilemessages -l zh_Hans --ignore=.venv"


@pytest.mark.parametrize("placeholder_re", [r"%\([a-z_]+\)[srd]"])
def test_translations_keep_their_placeholders(placeholder_re):
    for msgid, msgstr in _po_entries(LOCALE / "django.po").items():
        assert sorted(re.findall(placeholder_re, msgid)) == sorted(re.findall(placeholder_re, msgstr)), msgid
