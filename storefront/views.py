"""Shopper-facing pages on the mall's root host."""
from django.shortcuts import render

from tenants.selectors import merchant_host, merchant_list


def home(request):
    stores = [{"name": m.name, "host": merchant_host(m)} for m in merchant_list(active_only=True)]
    return render(request, "storefront/home.html", {"stores": stores})
