"""Users never see a stack trace: unknown pages and server errors get our own pages."""
from django.test import Client, override_settings
from django.urls import path


def _boom(request):
    raise RuntimeError("kaboom-internal-detail")


urlpatterns = [path("boom/", _boom)]


def test_unknown_page_is_a_friendly_404(mall):
    resp = Client(HTTP_HOST="localhost").get("/no/such/page/")
    assert resp.status_code == 404
    assert "There is nothing at this address." in resp.content.decode()


@override_settings(PUBLIC_SCHEMA_URLCONF="tests.core.test_error_pages", DEBUG=False)
def test_server_error_page_shows_no_trace(mall):
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    resp = client.get("/boom/")
    body = resp.content.decode()
    assert resp.status_code == 500
    assert "Something went wrong on our side" in body
    assert "kaboom-internal-detail" not in body and "Traceback" not in body

