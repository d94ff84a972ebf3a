"""The shopper's ticket pages on the mall host, mounted at /support/ (storefront.urls)."""
from django.urls import path

from support import views

urlpatterns = [
    path("tickets/", views.my_tickets, name="support-my-tickets"),
    path("tickets/new/", views.ticket_new, name="support-ticket-new"),
    path("tickets/<int:ticket_id>/", views.my_ticket, name="support-my-ticket"),
    path("tickets/<int:ticket_id>/action/", views.my_ticket_action, name="support-my-ticket-action"),
    path("tickets/<int:ticket_id>/files/<int:attachment_id>/", views.my_ticket_attachment, name="support-my-ticket-file"),
]
