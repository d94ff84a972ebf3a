"""Dashboard pages of returns, mounted at /returns/ on merchant hosts (merchants.urls)."""
from django.urls import path

from returns import views

urlpatterns = [
    path("", views.return_list, name="returns-list"),
    path("policy/", views.return_policy, name="returns-policy"),
    path("<int:return_id>/", views.return_detail, name="returns-detail"),
    path("<int:return_id>/photos/<int:photo_id>/", views.return_photo, name="returns-photo"),
    path("<int:return_id>/decide/", views.return_decide, name="returns-decide"),
    path("<int:return_id>/receive/", views.return_receive_view, name="returns-receive"),
    path("<int:return_id>/inspect/", views.return_inspect_view, name="returns-inspect"),
    path("<int:return_id>/refund/", views.return_refund_view, name="returns-refund"),
    path("<int:return_id>/ship-replacement/", views.return_ship_replacement_view, name="returns-ship-replacement"),
]
