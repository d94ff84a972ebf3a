"""The store's ticket pages, mounted at /tickets/ on merchant hosts (merchants.urls)."""
from django.urls import path

from support import views

urlpatterns = [
    path("", views.inbox, name="support-tickets"),
    path("canned/", views.canned, name="support-canned"),
    path("settings/", views.support_settings, name="support-settings"),
    path("<int:ticket_id>/", views.thread, name="support-ticket"),
    path("<int:ticket_id>/reply/", views.reply, name="support-ticket-reply"),
    path("<int:ticket_id>/status/", views.status_set, name="support-ticket-status"),
    path("<int:ticket_id>/assign/", views.assign, name="support-ticket-assign"),
    path("<int:ticket_id>/dispute/", views.dispute, name="support-ticket-dispute"),
    path("<int:ticket_id>/files/<int:attachment_id>/", views.attachment, name="support-ticket-file"),
]
