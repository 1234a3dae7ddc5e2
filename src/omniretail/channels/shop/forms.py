"""Form parsing for shop pages: fields, labels and the first error per field."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from .models import ShopAccount


class SignUpForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, min_length=8)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", "The two passwords differ; type the same one twice.")
        return data


class SignInForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    password = forms.CharField(label="Password", widget=forms.PasswordInput)


class ShopPasswordResetForm(PasswordResetForm):
    """Only shop accounts reset their password here (staff use the back office)."""

    def get_users(self, email):  # type: ignore[no-untyped-def]
        shop_users = set(ShopAccount.objects.values_list("user_id", flat=True))
        return (u for u in super().get_users(email) if u.pk in shop_users)


class CheckoutForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    phone = forms.CharField(label="Phone (optional)", max_length=32, required=False)
    fulfilment = forms.ChoiceField(
        label="How do you want it?",
        choices=[("ship", "Delivery to an address"), ("pickup", "Pick up in a store")],
        widget=forms.RadioSelect,
        initial="ship",
    )
    name = forms.CharField(label="Name on the parcel", max_length=200, required=False)
    line1 = forms.CharField(label="Address", max_length=200, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    country = forms.CharField(
        label="Country (2 letters)", max_length=2, required=False, initial="FR"
    )
    shipping_method = forms.ChoiceField(
        label="Delivery method", required=False, widget=forms.RadioSelect
    )
    pickup_store = forms.ChoiceField(label="Store", required=False)
    card_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
    points_amount = forms.DecimalField(
        label="Pay with points (amount, signed-in members)",
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=10,
    )
    gift_card_code = forms.CharField(label="Gift card code", required=False, max_length=64)
    gift_card_amount = forms.DecimalField(
        label="Amount from the gift card",
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=10,
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(label="Why are you sending it back?", max_length=300)


class GiftCardForm(forms.Form):
    code = forms.CharField(label="Gift card code", max_length=64)
