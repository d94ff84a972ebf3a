"""Shopper account pages, mounted at the root of the mall host (storefront.urls, before orders.urls)."""
from django.urls import path

from accounts import views

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/signup/", views.sign_up, name="signup"),
    path("account/verify/resend/", views.verify_resend, name="account-verify-resend"),
    path("account/verify/<str:token>/", views.verify, name="account-verify"),
    path("account/password/", views.PasswordChange.as_view(), name="password-change"),
    path("account/password/reset/", views.PasswordReset.as_view(), name="password-reset"),
    path("account/password/reset/sent/", views.PasswordResetDone.as_view(), name="password-reset-done"),
    path("account/password/reset/<uidb64>/<token>/", views.PasswordResetConfirm.as_view(), name="password_reset_confirm"),
    path("account/password/reset/done/", views.PasswordResetComplete.as_view(), name="password-reset-complete"),
    path("account/addresses/", views.addresses, name="addresses"),
    path("account/addresses/new/", views.address_form, name="address-new"),
    path("account/addresses/divisions/", views.divisions, name="address-divisions"),
    path("account/addresses/<int:address_id>/", views.address_form, name="address-edit"),
    path("account/addresses/<int:address_id>/<str:action>/", views.address_action, name="address-action"),
    path("order-lookup/", views.guest_lookup, name="guest-lookup"),
    path("o/<str:token>/", views.guest_order_link, name="guest-order-link"),
]
