"""Merchant API routes of automation rules (merchant host), under /api/v1/automation/."""
from django.urls import path

from automation import api

urlpatterns = [
    path("automation/rules/", api.RulesView.as_view(), name="api-automation-rules"),
    path("automation/rules/<int:rule_id>/", api.RuleDetailView.as_view(), name="api-automation-rule"),
    path("automation/rules/<int:rule_id>/dry-run/", api.RuleDryRunView.as_view(), name="api-automation-rule-dry-run"),
]
