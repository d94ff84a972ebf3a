"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Shared fixtures for every app's browser tests:
  * `browser` (session): one Chromium for the whole run;
  * `page` (function): a fresh browser context (no cookies) and its page;
  * `new_page` (function): `new_page()` opens another independent context (a second person);
  * `site` (function): live-server URLs: `site.mall("/products/")`, `site.at(mall.acme, "/")`;
  * `login(page, url, email, password=PASSWORD)`: sign in through the real login form.

The live server needs database access that commits (its thread has its own connection).
pytest-django's live_server pulls in `transactional_db`, whose flush at teardown would wipe the
session's merchants, so `transactional_db` is overridden here to mean our `committed` fixture:
rows commit and stay; tests write uniquely named rows (`unique`) and never count rows globally.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

PASSWORD = "test-pass-123"  # the password tests/conftest.py gives every session user
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]

# Playwright's sync API keeps an event loop in this thread; the ORM calls tests make between
# browser steps are ordinary synchronous code, so Django's async-safety guard must not refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def transactional_db(committed):
    """Overrides pytest-django's (see module docstring): commit, never flush."""
    return committed


@pytest.fixture(scope="session")
def browser():
    deadline = time.monotonic() + 300
    while not Path(CHROMIUM).exists():  # Chromium may still be installing on a fresh machine
        if time.monotonic() > deadline:
            # a missing browser fails the suite; it never turns into a skip
            pytest.fail(f"{CHROMIUM} is not installed (./mallard test installs it with apt when run as root)")
        time.sleep(2)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@dataclass
class Site:
    port: int

    def mall(self, path: str = "/") -> str:
        from django.conf import settings

        return f"http://{settings.MALL_HOST}:{self.port}{path}"

    def at(self, merchant, path: str = "/") -> str:
        from tenants.selectors import merchant_host

        return f"http://{merchant_host(merchant)}:{self.port}{path}"


@pytest.fixture
def site(live_server, committed):
    return Site(port=int(live_server.url.rsplit(":", 1)[1]))


def login(page, url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form on `url`'s host and land on `url`."""
    parts = urlsplit(url)
    page.goto(f"{parts.scheme}://{parts.netloc}/accounts/login/?next={quote(parts.path or '/')}")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/accounts/login/" not in u)


@pytest.fixture(name="login")
def login_fixture():
    return login


def wait_until(condition, *, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Poll `condition()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until
