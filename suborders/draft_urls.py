"""Orders entered by the store's staff, mounted at /drafts/ on merchant hosts (merchants.urls)."""
from django.urls import path

from suborders import draft_views

urlpatterns = [
    path("", draft_views.draft_list, name="drafts-list"),
    path("new/", draft_views.draft_new, name="drafts-new"),
    path("<int:draft_id>/", draft_views.draft_detail, name="drafts-detail"),
    path("<int:draft_id>/confirm/", draft_views.draft_confirm_view, name="drafts-confirm"),
    path("<int:draft_id>/discard/", draft_views.draft_discard_view, name="drafts-discard"),
    path("<int:draft_id>/send-link/", draft_views.draft_send_link_view, name="drafts-send-link"),
    path("<int:draft_id>/mark-paid/", draft_views.draft_mark_paid_view, name="drafts-mark-paid"),
]
