"""/shop/ — mounted by the project's urls.py. Every view gets the shop's
security headers (Content-Security-Policy and friends)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views, views_account
from .forms import ShopPasswordResetForm
from .security import shop_headers

app_name = "shop"

password_reset = auth_views.PasswordResetView.as_view(
    template_name="shop/account/password_reset.html",
    email_template_name="shop/account/password_reset_email.txt",
    subject_template_name="shop/account/password_reset_subject.txt",
    form_class=ShopPasswordResetForm,
    success_url=reverse_lazy("shop:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="shop/account/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="shop/account/password_reset_confirm.html",
    success_url=reverse_lazy("shop:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="shop/account/password_reset_complete.html"
)

urlpatterns = [
    path("", shop_headers(views.home), name="home"),
    path("c/<slug:code>/", shop_headers(views.category), name="category"),
    path("search/", shop_headers(views.search), name="search"),
    path("p/<slug:code>/", shop_headers(views.product), name="product"),
    path("cart/", shop_headers(views.cart), name="cart"),
    path("cart/add/", shop_headers(views.cart_add), name="cart_add"),
    path("cart/line/<int:line_id>/", shop_headers(views.cart_line), name="cart_line"),
    path("cart/coupon/", shop_headers(views.cart_coupon), name="cart_coupon"),
    path("checkout/", shop_headers(views.checkout), name="checkout"),
    path(
        "order/<int:order_id>/confirmation/",
        shop_headers(views.confirmation),
        name="confirmation",
    ),
    path("account/", shop_headers(views_account.account), name="account"),
    path("account/signup/", shop_headers(views_account.signup), name="signup"),
    path("account/signin/", shop_headers(views_account.signin), name="signin"),
    path("account/signout/", shop_headers(views_account.signout), name="signout"),
    path(
        "account/orders/<int:order_id>/",
        shop_headers(views_account.order),
        name="account_order",
    ),
    path("account/password/reset/", shop_headers(password_reset), name="password_reset"),
    path(
        "account/password/reset/sent/",
        shop_headers(password_reset_done),
        name="password_reset_done",
    ),
    path(
        "account/password/reset/<uidb64>/<token>/",
        shop_headers(password_reset_confirm),
        name="password_reset_confirm",
    ),
    path(
        "account/password/reset/done/",
        shop_headers(password_reset_complete),
        name="password_reset_complete",
    ),
]
