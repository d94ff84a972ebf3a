from django.urls import path

from merchants import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
]
