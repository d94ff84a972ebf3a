"""The served schemas document what the API really does (errors, bearer token, Idempotency-Key, list
shapes, query parameters), and the answers the schemathesis run found wrong stay fixed."""
from __future__ import annotations

import pytest

BIGGER_THAN_BIGINT = "9" * 25


def _schema(client):
    resp = client.get("/api/v1/schema/", {"format": "json"})
    assert resp.status_code == 200
    return resp.json()


def _operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


@pytest.mark.parametrize("host", ["mall", "merchant"])
def test_every_operation_documents_the_error_shape_and_the_bearer_token(mall, client_at, host):
    schema = _schema(client_at(mall.acme if host == "merchant" else None, mall.users["acme:owner"]))
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert set(schema["components"]["schemas"]["ErrorOutput"]["required"]) == {"code", "message"}
    for name, op in _operations(schema):
        if name == "GET /api/v1/listings/":
            assert op["security"] == [{}] and "401" not in op["responses"]  # public browsing
        else:
            assert {"bearerAuth": []} in op["security"], name
            assert "401" in op["responses"], name
        for code in ("400", "403", "404", "409"):
            assert op["responses"][code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOutput"}, (name, code)
        assert ("413" in op["responses"]) == (name.split()[0] in ("POST", "PATCH", "PUT")), name


def test_idempotent_writes_document_the_bounded_header(mall, client_at):
    schema = _schema(client_at(mall.acme, mall.users["acme:owner"]))
    accept = schema["paths"]["/api/v1/suborders/{suborder_id}/accept/"]["post"]
    headers = [p for p in accept["parameters"] if p["in"] == "header"]
    assert [(p["name"], p["required"], p["schema"]["minLength"], p["schema"]["maxLength"]) for p in headers] == [
        ("Idempotency-Key", True, 1, 200)]
    public = _schema(client_at(None))
    assert "Idempotency-Key" in [p["name"] for p in public["paths"]["/api/v1/checkout/"]["post"]["parameters"]]


def test_lists_document_their_real_shape_and_query_parameters(mall, client_at):
    merchant = _schema(client_at(mall.acme, mall.users["acme:owner"]))
    products = merchant["paths"]["/api/v1/catalog/products/"]["get"]
    assert {p["name"] for p in products["parameters"]} == {"search", "status", "category", "cursor", "limit"}
    page = products["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(merchant["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}
    warehouses = merchant["paths"]["/api/v1/catalog/warehouses/"]["get"]["responses"]["200"]["content"]
    ref = warehouses["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert list(merchant["components"]["schemas"][ref]["properties"]) == ["results"]
    receipt = merchant["paths"]["/api/v1/catalog/stock/receipts/"]["post"]["responses"]
    assert "201" in receipt and "200" not in receipt
    public = _schema(client_at(None))
    listings = public["paths"]["/api/v1/listings/"]["get"]
    assert {p["name"] for p in listings["parameters"]} == {"q", "store", "category", "cursor", "page_size"}


def test_an_unknown_api_path_is_a_json_404(mall, api_at):
    for client in (api_at(None, mall.users["shopper"]), api_at(mall.acme, mall.users["acme:owner"])):
        resp = client.get("/api/v1/cart/lines/abc/")
        assert (resp.status_code, resp["Content-Type"], resp.json()["code"]) == (404, "application/json", "not_found")


def test_a_page_404_stays_a_page(mall, client_at):
    resp = client_at(None).get("/no-such-page/")
    assert resp.status_code == 404 and resp["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", [f"/api/v1/suborders/{BIGGER_THAN_BIGINT}/", f"/api/v1/catalog/products/{BIGGER_THAN_BIGINT}/",
                                  f"/api/v1/catalog/variants/{BIGGER_THAN_BIGINT}/stock/"])
def test_an_id_beyond_bigint_in_the_path_is_refused_not_a_500(mall, api_at, path):
    resp = api_at(mall.acme, mall.users["acme:owner"]).get(path)
    assert resp.status_code in (400, 404) and resp.json()["code"] in ("invalid", "not_found")


def test_an_id_beyond_bigint_in_a_body_is_refused_not_a_500(mall, api_at):
    resp = api_at(mall.acme, mall.users["acme:owner"]).post(
        "/api/v1/catalog/stock/receipts/", {"variant_id": int(BIGGER_THAN_BIGINT), "warehouse_id": 1, "quantity": 1},
        format="json")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"


def test_a_value_postgresql_cannot_hold_is_a_400_not_a_500():
    """The safety net behind the edge parsers (hand-written SQL bypasses Django's out-of-range lookups)."""
    from django.db import DataError

    from core.api import exception_handler

    resp = exception_handler(DataError("integer out of range"), {})
    assert (resp.status_code, resp.data["code"]) == (400, "invalid")
