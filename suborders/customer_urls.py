"""The store's customers, mounted at /customers/ on merchant hosts (merchants.urls)."""
from django.urls import path

from suborders import customer_views

urlpatterns = [
    path("", customer_views.customer_list, name="customers-list"),
    path("export.<str:fmt>", customer_views.customer_export, name="customers-export"),
    path("<str:key>/", customer_views.customer_detail, name="customers-detail"),
    path("<str:key>/notes/", customer_views.customer_note_view, name="customers-note"),
    path("<str:key>/tags/", customer_views.customer_tags_view, name="customers-tags"),
]
