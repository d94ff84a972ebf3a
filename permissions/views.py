"""Sign-in and sign-out pages, on the mall host and on every merchant host."""
from django import forms
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class MallardLoginView(LoginView):
    template_name = "permissions/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = False


@require_POST
def logout_view(request):
    logout(request)
    return redirect("/")
