"""Foundation in a real browser: acme's owner signs in at acme.localhost, sees the dashboard in
English, switches to 简体中文; a globex user gets the 403 page at acme."""
import re

from playwright.sync_api import expect

PASSWORD = "test-pass-123"  # tests/conftest.py gives every session user this password


def _sign_in(page, url_base: str, email: str) -> None:
    page.goto(f"{url_base}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/accounts/login/" not in u)


def test_owner_signs_in_and_switches_the_dashboard_to_chinese(page, site, committed):
    base = site.at(committed.acme, "").rstrip("/")
    assert base.startswith("http://acme.localhost:")
    page.goto(f"{base}/accounts/login/")
    expect(page.locator("h1")).to_have_text("Sign in to Acme Outfitters")
    _sign_in(page, base, "owner@acme.test")

    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_test_id("merchant-name")).to_have_text("Acme Outfitters")
    expect(page.get_by_role("heading", name="Your roles")).to_be_visible()
    expect(page.get_by_test_id("roles").locator("li")).to_have_text(["Owner"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("who")).to_have_text("owner@acme.test")

    page.get_by_test_id("language").select_option("zh-hans")  # submits the form on change
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", name="您的角色")).to_be_visible()
    expect(page.get_by_test_id("roles").locator("li")).to_have_text(["店主"])
    expect(page.get_by_text("欢迎来到您的店铺后台。")).to_be_visible()
    expect(page.locator("header .brand")).to_have_text(re.compile(r"Acme Outfitters · 店铺后台"))
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    expect(page.get_by_text("Your roles")).to_have_count(0)

    # The choice sticks for the next page, and back to English works the same way.
    page.reload()
    expect(page.get_by_role("heading", name="您的角色")).to_be_visible()
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_role("heading", name="Your roles")).to_be_visible()


def test_globex_user_gets_the_403_page_at_acme(page, site, committed):
    base = site.at(committed.acme, "").rstrip("/")
    _sign_in(page, base, "owner@globex.test")
    response = page.goto(f"{base}/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.get_by_test_id("error-message")).to_have_text("Your account is not a member of Acme Outfitters.")
    expect(page.get_by_test_id("merchant-name")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("Your roles")

    # The same person at their own store sees their dashboard.
    globex = site.at(committed.globex, "").rstrip("/")
    _sign_in(page, globex, "owner@globex.test")
    expect(page.get_by_test_id("merchant-name")).to_have_text("Globex Electronics")
