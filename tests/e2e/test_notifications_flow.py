"""Browser: the operator's template editor previews live as they type (no save), and shows the error of a
broken template in place."""
import re

from playwright.sync_api import expect

from notifications.models import NotificationTemplate


def test_operator_sees_the_preview_follow_the_typing_and_a_broken_template_named(site, page, login, committed):
    mall = committed
    before = NotificationTemplate.objects.get(kind="suborder_accepted", language="en").subject
    url = site.mall("/console/notifications/suborder_accepted/en/")
    login(page, url, mall.users["operator"].email)
    page.goto(url)
    subject = page.locator("[data-testid=preview-subject]")
    assert subject.inner_text() == "Acme Outfitters accepted your order M-20261203-0042"
    page.fill("input[name=subject]", "Good news from {{ store }}: {{ number }}")
    expect(subject).to_have_text("Good news from Acme Outfitters: M-20261203-0042")  # no button pressed
    page.fill("textarea[name=body_text]", "{% for x in %}")
    error = page.locator("[data-testid=template-error]")
    error.wait_for()
    assert "body_text" in error.inner_text()
    page.fill("textarea[name=body_text]", "Fine again {{ number }}.")
    error.wait_for(state="detached")
    expect(page.locator("[data-testid=preview-text]")).to_have_text(re.compile("Fine again M-20261203-0042"))
    assert NotificationTemplate.objects.get(kind="suborder_accepted", language="en").subject == before  # nothing saved
