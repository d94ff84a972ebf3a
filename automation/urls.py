"""Merchant dashboard pages of automation rules, mounted at /automation/ on merchant hosts (merchants.urls)."""
from django.urls import path

from automation import views

urlpatterns = [
    path("", views.rule_list, name="automation-rules"),
    path("new/", views.rule_new, name="automation-rule-new"),
    path("customer-tags/", views.customer_tags, name="automation-customer-tags"),
    path("<int:rule_id>/", views.rule_edit, name="automation-rule-edit"),
    path("<int:rule_id>/toggle/", views.rule_toggle, name="automation-rule-toggle"),
    path("<int:rule_id>/move/", views.rule_move, name="automation-rule-move"),
    path("<int:rule_id>/dry-run/", views.rule_dry_run, name="automation-rule-dry-run"),
    path("<int:rule_id>/runs/", views.rule_runs, name="automation-rule-runs"),
]
