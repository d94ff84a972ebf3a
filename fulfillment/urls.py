"""Merchant dashboard shipping pages, mounted at /shipping/ on merchant hosts (merchants.urls)."""
from django.urls import path

from fulfillment import views

urlpatterns = [
    path("", views.shipping_rules, name="shipping-rules"),
    path("<int:rule_id>/", views.shipping_rule_edit, name="shipping-rule-edit"),
    path("<int:rule_id>/deactivate/", views.shipping_rule_deactivate_view, name="shipping-rule-deactivate"),
]
