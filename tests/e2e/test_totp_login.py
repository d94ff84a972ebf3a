"""Two-step sign-in in a real browser: a user scans the QR code on /accounts/security/ (read here with
zxing, as a phone's camera would), turns it on with the code the app computes, and the next sign-in asks
for a code after the password."""
import io
import time
from base64 import b32decode
from urllib.parse import parse_qs, unquote, urlsplit

import zxingcpp
from django_otp.oath import TOTP
from PIL import Image
from playwright.sync_api import expect

PASSWORD = "test-pass-123"


def app_code(secret_b32: str, *, seconds_later: int = 0) -> str:
    """What an authenticator app shows for this key (RFC 6238: 30-second steps, 6 digits, SHA-1)."""
    totp = TOTP(b32decode(secret_b32 + "=" * (-len(secret_b32) % 8)))
    totp.time = time.time() + seconds_later
    return f"{totp.token():06d}"


def _wait_for_a_fresh_step(margin: float = 8.0) -> None:
    """Wait out the end of the current 30-second step. A code typed in the step after the one it was
    computed for is accepted with a drift of -1 (django-otp remembers it), and then the code of the step
    after next, which this test types at sign-in, would fall outside the window: a test race, not a
    shopper's, because an app always shows the current step's code."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.2)


def _password_step(page, mall: str, email: str) -> None:
    page.goto(f"{mall}/accounts/login/?next=/accounts/security/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_scan_the_qr_code_turn_it_on_and_sign_in_with_a_code(page, site, committed, unique):
    from permissions.services import user_create

    email = f"{unique('totp')}@example.test"
    user_create(email=email, password=PASSWORD)
    mall = site.mall("").rstrip("/")
    _password_step(page, mall, email)
    page.wait_for_url(lambda u: "/accounts/security/" in u and "/login/" not in u)
    expect(page.get_by_test_id("totp-off")).to_be_visible()

    page.get_by_role("button", name="Set up an authenticator app").click()
    png = page.get_by_test_id("totp-qr").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    url = urlsplit(found[0].text)
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, unquote(url.path)) == ("otpauth", "totp", f"/Mallard:{email}")
    assert query["issuer"] == ["Mallard"] and query["digits"] == ["6"] and query["period"] == ["30"]
    secret = query["secret"][0]
    assert page.get_by_test_id("totp-key").inner_text().replace(" ", "") == secret.rstrip("=")

    _wait_for_a_fresh_step()
    page.fill("[data-testid=totp-confirm] input[name=code]", app_code(secret))
    page.get_by_role("button", name="Turn two-step sign-in on").click()
    expect(page.get_by_test_id("totp-on")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    _password_step(page, mall, email)
    expect(page.get_by_test_id("second-factor")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)  # not signed in with the password alone
    # the next 30-second step's code: the one used to turn it on is never accepted twice
    page.fill("input[name=otp_token]", app_code(secret, seconds_later=30))
    page.click("button[type=submit]")
    expect(page.get_by_test_id("totp-on")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_text(email)
