"""Merchant dashboard suborder pages, mounted at /suborders/ on merchant hosts (merchants.urls)."""
from django.urls import path

from suborders import actions, bulk_ship, cancellation_views, edit_views, views

urlpatterns = [
    path("", views.suborder_list, name="suborders-list"),
    path("bulk/", actions.suborders_bulk_view, name="suborders-bulk"),
    path("warehouse/", actions.warehouse_queue, name="suborders-warehouse"),
    path("bulk-ship/", bulk_ship.bulk_ship, name="suborders-bulk-ship"),
    path("cancellations/", cancellation_views.cancellation_queue, name="cancellations-queue"),
    path("cancellations/<int:request_id>/decide/", cancellation_views.cancellation_decide_view, name="cancellations-decide"),
    path("<int:suborder_id>/pack/", actions.warehouse_pack, name="suborders-pack"),
    path("<int:suborder_id>/", views.suborder_detail, name="suborders-detail"),
    path("<int:suborder_id>/accept/", actions.suborder_accept_view, name="suborders-accept"),
    path("<int:suborder_id>/refuse/", actions.suborder_refuse_view, name="suborders-refuse"),
    path("<int:suborder_id>/cancel/", actions.suborder_cancel_view, name="suborders-cancel"),
    path("<int:suborder_id>/ship/", actions.suborder_ship_view, name="suborders-ship"),
    path("<int:suborder_id>/contact/", edit_views.suborder_contact_view, name="suborders-contact"),
    path("<int:suborder_id>/assign/", edit_views.suborder_assign_view, name="suborders-assign"),
    path("<int:suborder_id>/release/", edit_views.suborder_release_view, name="suborders-release"),
    path("<int:suborder_id>/lines/<int:line_id>/variant/", edit_views.suborder_line_variant_view, name="suborders-line-variant"),
    path("shipments/<int:shipment_id>/delivered/", actions.shipment_delivered_view, name="shipments-delivered"),
]
