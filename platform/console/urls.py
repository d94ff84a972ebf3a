"""Operator console URLs (mall host only)."""
from django.urls import path

from console import views

urlpatterns = [
    path("", views.console_home, name="console-home"),
]
