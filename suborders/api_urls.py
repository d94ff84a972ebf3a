from django.urls import path

from suborders import api, api_actions, cancellation_api, customer_api, draft_api, edit_views

urlpatterns = [
    path("suborders/", api.SubOrderListView.as_view(), name="api-suborders"),
    path("suborders/changes/", api.SubOrderChangesView.as_view(), name="api-suborder-changes"),
    path("suborders/<int:suborder_id>/", api.SubOrderDetailView.as_view(), name="api-suborder"),
    path("suborders/<int:suborder_id>/accept/", api_actions.SubOrderAcceptView.as_view(), name="api-suborder-accept"),
    path("suborders/<int:suborder_id>/refuse/", api_actions.SubOrderRefuseView.as_view(), name="api-suborder-refuse"),
    path("suborders/<int:suborder_id>/cancel/", api_actions.SubOrderCancelView.as_view(), name="api-suborder-cancel"),
    path("suborders/<int:suborder_id>/contact/", edit_views.SubOrderContactView.as_view(), name="api-suborder-contact"),
    path("suborders/<int:suborder_id>/lines/<int:line_id>/variant/", edit_views.SubOrderLineVariantView.as_view(),
         name="api-suborder-line-variant"),
    path("suborders/<int:suborder_id>/shipments/", api_actions.SubOrderShipmentsView.as_view(), name="api-suborder-shipments"),
    path("shipments/<int:shipment_id>/delivered/", api_actions.ShipmentDeliveredView.as_view(), name="api-shipment-delivered"),
    path("cancellations/", cancellation_api.CancellationListView.as_view(), name="api-cancellations"),
    path("cancellations/<int:request_id>/", cancellation_api.CancellationDetailView.as_view(), name="api-cancellation"),
    path("cancellations/<int:request_id>/approve/", cancellation_api.CancellationApproveView.as_view(),
         name="api-cancellation-approve"),
    path("cancellations/<int:request_id>/refuse/", cancellation_api.CancellationRefuseView.as_view(), name="api-cancellation-refuse"),
    path("customers/", customer_api.CustomerListView.as_view(), name="api-customers"),
    path("customers/<str:key>/", customer_api.CustomerDetailView.as_view(), name="api-customer"),
    path("customers/<str:key>/notes/", customer_api.CustomerNoteView.as_view(), name="api-customer-notes"),
    path("customers/<str:key>/tags/", customer_api.CustomerTagsView.as_view(), name="api-customer-tags"),
    path("drafts/", draft_api.DraftListCreateView.as_view(), name="api-drafts"),
    path("drafts/<int:draft_id>/", draft_api.DraftDetailView.as_view(), name="api-draft"),
    path("drafts/<int:draft_id>/confirm/", draft_api.DraftConfirmView.as_view(), name="api-draft-confirm"),
    path("drafts/<int:draft_id>/discard/", draft_api.DraftDiscardView.as_view(), name="api-draft-discard"),
    path("orders/<str:number>/offline-payment/", draft_api.OfflinePaymentView.as_view(), name="api-order-offline-payment"),
]
