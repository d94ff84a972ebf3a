"""The shopper's ticket API on the mall host (config.api_public)."""
from django.urls import path

from support import api

urlpatterns = [
    path("tickets/", api.ShopperTicketsView.as_view(), name="api-my-tickets"),
    path("tickets/<int:ticket_id>/", api.ShopperTicketView.as_view(), name="api-my-ticket"),
    path("tickets/<int:ticket_id>/messages/", api.ShopperTicketMessagesView.as_view(), name="api-my-ticket-messages"),
    path("tickets/<int:ticket_id>/status/", api.ShopperTicketStatusView.as_view(), name="api-my-ticket-status"),
    path("tickets/<int:ticket_id>/dispute/", api.ShopperTicketDisputeView.as_view(), name="api-my-ticket-dispute"),
]
