"""Web shop writes, one module per concept (cart, checkout, account, returns)."""

from .account import account_sign_up, sign_in, sign_in_allowed, sign_in_failed
from .cart import (
    SHOP_ACTOR,
    CartAdded,
    cart_adopt,
    cart_coupon_add,
    cart_coupon_remove,
    cart_create,
    cart_holds_renew,
    cart_line_add,
    cart_line_set,
)
from .checkout import CheckoutData, OutOfStock, PaymentRefused, checkout_place
from .returns import return_request_accept, return_request_create, return_request_refuse

__all__ = [
    "SHOP_ACTOR",
    "CartAdded",
    "CheckoutData",
    "OutOfStock",
    "PaymentRefused",
    "account_sign_up",
    "cart_adopt",
    "cart_coupon_add",
    "cart_coupon_remove",
    "cart_create",
    "cart_holds_renew",
    "cart_line_add",
    "cart_line_set",
    "checkout_place",
    "return_request_accept",
    "return_request_create",
    "return_request_refuse",
    "sign_in",
    "sign_in_allowed",
    "sign_in_failed",
]
