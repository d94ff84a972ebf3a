"""Analytics pages: the store's /reports/ and dashboard home, the console's /console/reports/ - figures from the
rollups, matching the tables under the charts; isolation between stores; roles without the capability refused."""
from __future__ import annotations

import re

import pytest

from reports import analytics as an
from reports.rollups import rollups_rebuild
from tests.reports.test_rollups import _play


def _kpi(html: str, key: str) -> str:
    m = re.search(rf'data-kpi="{key}">.*?<td data-value="([^"]*)"', html, re.S)
    assert m, key
    return m.group(1)


def _days_sum(html: str, col: str) -> int:
    table = html.split('data-testid="table-days"', 1)[1].split("</table>", 1)[0]
    if col == "orders":
        return sum(int(v) for v in re.findall(r'data-col="orders">(\d+)<', table))
    return sum(int(v) for v in re.findall(r'data-col="gmv" data-value="(-?\d+)"', table))


@pytest.fixture
def sales(mall):
    rollups_rebuild(merchants=[mall.acme, mall.globex, mall.initech])
    before = {m: an.totals(merchant_id=getattr(mall, m).pk, period=an.period_default(30)) for m in ("acme", "globex")}
    _play(mall, {"stores": ("acme",), "qty": 2, "price": 4321, "days_ago": 2, "then": "ship"})
    _play(mall, {"stores": ("acme",), "qty": 1, "price": 9900, "days_ago": 0, "then": "refund_one"})
    return before


def test_the_reports_page_shows_the_period_figures_and_they_match_the_table(mall, client_at, sales):
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/reports/?days=30")
    assert resp.status_code == 200
    html = resp.content.decode()
    now = an.totals(merchant_id=mall.acme.pk, period=an.period_default(30))
    assert now["orders"] == sales["acme"]["orders"] + 2
    assert now["gmv_minor"] >= sales["acme"]["gmv_minor"] + 2 * 4321 + 9900
    assert int(_kpi(html, "orders")) == now["orders"] == _days_sum(html, "orders")
    assert int(_kpi(html, "gmv_minor")) == now["gmv_minor"] == _days_sum(html, "gmv")
    for chart in ("chart-days", "chart-heat", "chart-regions", "chart-best", "chart-bands"):
        assert f'data-testid="{chart}"' in html and "<svg" in html.split(f'data-testid="{chart}"', 1)[1][:400]
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org/2000/svg", "")


def test_the_dashboard_home_shows_the_last_30_days_to_owner_and_not_to_warehouse(mall, client_at, sales):
    html = client_at(mall.acme, mall.users["acme:owner"]).get("/").content.decode()
    now = an.totals(merchant_id=mall.acme.pk, period=an.period_default(30))
    assert 'data-testid="dashboard-sales"' in html and int(_kpi(html, "orders")) == now["orders"]
    html = client_at(mall.acme, mall.users["acme:warehouse"]).get("/").content.decode()
    assert 'data-testid="dashboard-sales"' not in html


def test_globex_never_sees_acmes_figures(mall, client_at, sales):
    html = client_at(mall.globex, mall.users["globex:owner"]).get("/reports/?days=30").content.decode()
    assert int(_kpi(html, "orders") or 0) == sales["globex"]["orders"]  # acme's two new sales are not here
    resp = client_at(mall.globex, mall.users["acme:owner"]).get("/reports/")  # acme's owner on globex's host
    assert resp.status_code in (302, 403, 404) and b"data-kpi" not in resp.content


@pytest.mark.parametrize("role", ["warehouse", "customer_service"])
def test_roles_without_reports_view_are_refused(mall, client_at, sales, role):
    resp = client_at(mall.acme, mall.users[f"acme:{role}"]).get("/reports/")
    assert resp.status_code == 403 and b"data-kpi" not in resp.content


@pytest.mark.parametrize("query,field", [("?start=2026-13-01&end=2026-12-01", "start"), ("?start=2026-01-01&end=x", "end"),
                                         ("?days=9", "days"), ("?start=2026-05-01&end=2026-04-01", "end"),
                                         ("?days=%EF%BC%93", "period")])
def test_a_bad_period_is_a_clear_400_naming_the_field(mall, client_at, query, field):
    resp = client_at(mall.acme, mall.users["acme:owner"]).get(f"/reports/{query}")
    assert resp.status_code == 400 and f"{field}:" in resp.content.decode()


def test_a_chosen_period_compares_with_the_previous_one(mall, client_at, sales):
    p = an.period_default(7)
    html = client_at(mall.acme, mall.users["acme:owner"]).get(f"/reports/?start={p.start}&end={p.end}").content.decode()
    prev = p.previous()
    assert f"{prev.start}" in html and f"{prev.end}" in html
    assert int(_kpi(html, "orders")) == an.totals(merchant_id=mall.acme.pk, period=p)["orders"]


def test_the_console_reports_break_down_per_store_from_the_rollups(mall, client_at, sales):
    from permissions.services import user_create

    fin = user_create(email="fin-reports@mallard.test", password="x-Password-123", platform_roles=["finance"])
    resp = client_at(None, fin).get("/console/reports/?days=30")
    assert resp.status_code == 200
    html = resp.content.decode()
    rows = {r["merchant_id"]: r for r in an.merchants_breakdown(period=an.period_default(30))}
    acme = rows[mall.acme.pk]
    row = html.split(f'data-merchant="{mall.acme.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'data-value="{acme["gmv_minor"]}"' in row and f'data-value="{acme["commission_minor"]}"' in row
    assert acme["commission_minor"] > 0
    assert int(_kpi(html, "orders")) == sum(r["orders"] for r in rows.values())


def test_the_console_reports_refuse_non_operators_and_support_operators(mall, client_at):
    from permissions.services import user_create

    sup = user_create(email="sup-reports@mallard.test", password="x-Password-123", platform_roles=["support"])
    assert client_at(None, sup).get("/console/reports/").status_code == 403
    resp = client_at(None, mall.users["acme:owner"]).get("/console/reports/")
    assert resp.status_code in (302, 403) and b"data-kpi" not in resp.content
