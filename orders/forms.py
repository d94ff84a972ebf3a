"""The checkout form: address, guest email, shipping method per store, voucher, idempotency key.

Only shape is checked here (required, length); the rules live in orders.validation and
order_checkout, whose errors the view puts back next to the field they name.
"""
from django import forms
from django.utils.translation import gettext_lazy as _

from core.money import Money
from orders.validation import ADDRESS_FIELDS, REQUIRED_ADDRESS

ADDRESS_LABELS = {
    "name": _("Full name"), "phone": _("Phone"), "line1": _("Address line 1"), "line2": _("Address line 2"),
    "city": _("City"), "district": _("District"), "region": _("Region / province"), "postcode": _("Postcode"), "country": _("Country (2 letters)"),
}


def shipping_field_name(merchant_id: int) -> str:
    return f"ship_{merchant_id}"


class CheckoutForm(forms.Form):
    email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    voucher_code = forms.CharField(label=_("Voucher code"), required=False, max_length=40)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, stores=(), guest: bool = False, currency: str = "CNY", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = guest
        for key, max_len in ADDRESS_FIELDS.items():
            self.fields[key] = forms.CharField(label=ADDRESS_LABELS[key], max_length=max_len, required=key in REQUIRED_ADDRESS)
        from accounts.regions import COUNTRIES  # the countries the mall ships to: a list, not free text

        self.fields["country"] = forms.ChoiceField(label=_("Country or region"), initial="CN",
                                                   choices=[(code, rule.name) for code, rule in COUNTRIES.items()])
        self.shipping_fields = []
        for store in stores:
            if not store.shipping_options:
                continue
            name = shipping_field_name(store.merchant.pk)
            self.fields[name] = forms.TypedChoiceField(
                label=store.merchant.name, coerce=int,
                choices=[(q.rule_id, f"{q.name} · {Money(q.cost_minor, currency).format()}")
                         for q in store.shipping_options],
            )
            self.shipping_fields.append(name)

    def address(self) -> dict:
        return {key: self.cleaned_data.get(key, "") for key in ADDRESS_FIELDS}

    def shipping_choices(self) -> dict[int, int]:
        return {int(name.removeprefix("ship_")): self.cleaned_data[name] for name in self.shipping_fields}

    def address_fields(self):
        return [self[key] for key in ADDRESS_FIELDS]
