from django.urls import path

from reports import analytics_views

urlpatterns = [
    path("", analytics_views.reports_merchant, name="reports-analytics"),
]
