"""Customer account pages: sign up / in / out, orders from every channel,
loyalty points and gift card balance, order tracking and return requests."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from omniretail.core.errors import DomainError, NotFound
from omniretail.loyalty.selectors import giftcard_balance, loyalty_summary

from . import selectors as sel
from .forms import GiftCardForm, ReturnForm, SignInForm, SignUpForm
from .models import ReturnRequest
from .security import client_ip
from .services import (
    SHOP_ACTOR,
    account_sign_up,
    cart_adopt,
    return_request_create,
    sign_in,
    sign_in_allowed,
    sign_in_failed,
)
from .views import _base, current_cart, customer_id_of

SIGN_IN_URL = "/shop/account/signin/"


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/shop/account/"


def _signed_in(request: HttpRequest, user: Any) -> None:
    backend = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0]
    login(request, user, backend=backend)  # rotates the session key
    cart = current_cart(request)
    customer = customer_id_of(request)
    if cart is not None and customer is not None:
        cart_adopt(cart=cart, customer_id=customer)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = account_sign_up(
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data.get("last_name", ""),
            )
        except DomainError as exc:
            problem = exc.message
        else:
            _signed_in(request, account.user)
            messages.success(request, "Welcome! Your account is open.")
            return redirect(_next(request))
    return render(
        request,
        "shop/account/signup.html",
        _base(request, form=form, problem=problem, next=_next(request)),
        status=422 if request.method == "POST" else 200,
    )


def signin(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    problem = ""
    status = 200
    if request.method == "POST":
        email = str(request.POST.get("email", ""))
        if form.is_valid():
            try:
                user = sign_in(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )
            except DomainError as exc:
                problem, status = exc.message, exc.http_status
            else:
                _signed_in(request, user)
                return redirect(_next(request))
        else:
            if sign_in_allowed(email=email, ip=client_ip(request)):
                sign_in_failed(email=email, ip=client_ip(request))
            problem, status = "Enter your e-mail and your password.", 422
    return render(
        request,
        "shop/account/signin.html",
        _base(request, form=form, problem=problem, next=_next(request)),
        status=status,
    )


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session (and the cart it pointed at)
    messages.success(request, "You are signed out.")
    return redirect("shop:home")


def _customer(request: HttpRequest) -> int:
    customer = customer_id_of(request)
    if customer is None:
        raise Http404("This login has no shop account")
    return customer


@login_required(login_url=SIGN_IN_URL)
def account(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    summary = loyalty_summary(customer_id=customer, actor=SHOP_ACTOR, recent=10)
    giftcard = None
    form = GiftCardForm(request.POST or None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        key = f"giftcard:{customer}"
        if not sign_in_allowed(email=key, ip=ip):
            problem = "Too many wrong codes; try again in 15 minutes."
        else:
            try:
                giftcard = giftcard_balance(code=form.cleaned_data["code"], actor=SHOP_ACTOR)
            except DomainError as exc:
                sign_in_failed(email=key, ip=ip)
                problem = exc.message
    return render(
        request,
        "shop/account/home.html",
        _base(
            request,
            orders=sel.customer_orders(customer_id=customer),
            loyalty=summary,
            giftcard=giftcard,
            giftcard_form=form,
            problem=problem,
            requests=ReturnRequest.objects.filter(customer_id=customer).select_related("order")[
                :20
            ],
        ),
    )


@login_required(login_url=SIGN_IN_URL)
def order(request: HttpRequest, order_id: int) -> HttpResponse:
    customer = _customer(request)
    try:
        found = sel.customer_order(customer_id=customer, order_id=order_id)
    except NotFound:
        raise Http404("No such order in your account")
    form = ReturnForm(request.POST or None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        quantities: dict[int, int] = {}
        for line in found.lines.all():
            raw = request.POST.get(f"line_{line.pk}", "0") or "0"
            try:
                quantities[line.pk] = int(raw)
            except ValueError:
                quantities[line.pk] = -1
        try:
            request_ = return_request_create(
                customer_id=customer,
                order=found,
                quantities=quantities,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            problem = exc.message
        else:
            messages.success(
                request,
                f"Return request #{request_.pk} sent: bring or post the items to us; we "
                "refund once they arrive.",
            )
            return redirect("shop:account_order", order_id=found.pk)
    returnable = [
        line for line in found.lines.all() if line.quantity_fulfilled - line.quantity_returned > 0
    ]
    return render(
        request,
        "shop/account/order.html",
        _base(
            request,
            order=found,
            shipments=list(found.shipments.all()),
            returnable=returnable,
            form=form,
            problem=problem,
            requests=ReturnRequest.objects.filter(order=found).prefetch_related("lines"),
        ),
        status=422 if problem else 200,
    )
