"""Merchant dashboard pages (merchant host)."""
from django.shortcuts import render

from core.tenancy import current_merchant
from permissions.roles import Role


def dashboard_home(request):
    merchant = current_merchant()
    labels = dict(Role.choices)
    roles = [labels.get(r, r) for r in getattr(request, "merchant_roles", [])]
    return render(request, "merchants/dashboard.html", {"merchant": merchant, "role_labels": roles})
