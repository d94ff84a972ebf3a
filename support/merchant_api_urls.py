"""The store's ticket API on its host (config.api_merchant); every view declares its capability."""
from django.urls import path

from support import api

urlpatterns = [
    path("tickets/", api.MerchantTicketsView.as_view(), name="api-tickets"),
    path("tickets/<int:ticket_id>/", api.MerchantTicketView.as_view(), name="api-ticket"),
    path("tickets/<int:ticket_id>/messages/", api.MerchantTicketMessagesView.as_view(), name="api-ticket-messages"),
    path("tickets/<int:ticket_id>/status/", api.MerchantTicketStatusView.as_view(), name="api-ticket-status"),
    path("tickets/<int:ticket_id>/assign/", api.MerchantTicketAssignView.as_view(), name="api-ticket-assign"),
    path("tickets/<int:ticket_id>/dispute/", api.MerchantTicketDisputeView.as_view(), name="api-ticket-dispute"),
]
