"""Merchant dashboard pages (merchant host)."""
from django.shortcuts import render

from core.tenancy import current_merchant
from permissions.roles import Role


def dashboard_home(request):
    merchant = current_merchant()
    labels = dict(Role.choices)
    roles = [labels.get(r, r) for r in getattr(request, "merchant_roles", [])]
    from reports.analytics_views import dashboard_sales

    sales = dashboard_sales(user=request.user, merchant=merchant)  # None without reports.view
    return render(request, "merchants/dashboard.html", {"merchant": merchant, "role_labels": roles, "sales": sales})
