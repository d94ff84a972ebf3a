"""Operator console pages on the mall host (staff only)."""
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from console.selectors import merchant_overview_for_operator
from core.tenancy import assert_public_schema


@staff_member_required
def console_home(request):
    assert_public_schema()
    return render(request, "console/home.html", merchant_overview_for_operator())
