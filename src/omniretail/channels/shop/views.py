"""Storefront and cart pages: parse, call one selector or service, render.
Domain errors become a message the shopper can act on (no 500s)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from omniretail.core.errors import DomainError, NotFound
from omniretail.orders.models import Order

from . import catalogue as cat
from . import selectors as sel
from .caching import CATEGORY_CACHE_S, PRODUCT_CACHE_S, SEARCH_CACHE_S, key
from .forms import CheckoutForm
from .models import Cart, ShippingMethod
from .services import (
    CheckoutData,
    OutOfStock,
    PaymentRefused,
    cart_coupon_add,
    cart_coupon_remove,
    cart_holds_renew,
    cart_line_add,
    cart_line_set,
    checkout_place,
)

SESSION_CART = "shop_cart"
SESSION_ORDERS = "shop_orders"


def customer_id_of(request: HttpRequest) -> int | None:
    user = request.user
    if not user.is_authenticated:
        return None
    account = getattr(user, "shop_account", None)
    return account.customer_id if account is not None else None


def current_cart(request: HttpRequest, *, fresh: bool = False) -> Cart | None:
    """The session's open cart (read once per request unless `fresh`)."""
    if not fresh and hasattr(request, "_shop_cart"):
        return request._shop_cart  # type: ignore[attr-defined]
    token = request.session.get(SESSION_CART)
    cart = None
    if token:
        cart = (
            Cart.objects.select_related("channel__company")
            .annotate(item_count=Coalesce(Sum("lines__quantity"), 0))
            .filter(token=token)
            .first()
        )
        if cart is not None and cart.status == Cart.Status.ORDERED:
            cart = None
    request._shop_cart = cart  # type: ignore[attr-defined]
    return cart


def _count(cart: Cart | None) -> int:
    return int(getattr(cart, "item_count", 0) or 0)


def cart_count(request: HttpRequest) -> int:
    """Units in the session's cart, for the header: the cart this request
    already read, or one small query (never cached: it is the session's)."""
    if hasattr(request, "_shop_cart"):
        return _count(request._shop_cart)  # type: ignore[attr-defined]
    token = request.session.get(SESSION_CART)
    return sel.cart_units(token=token) if token else 0


def _fragment(cache_key: str, template: str, context: dict[str, object], ttl: int) -> SafeString:
    """HTML that is the same for every shopper (no session, no CSRF token),
    rendered once per cache entry."""
    html = cache.get(cache_key)
    if html is None:
        html = render_to_string(template, context)
        cache.set(cache_key, str(html), ttl)
    return mark_safe(html)  # noqa: S308 - rendered by our templates with autoescape


def _base(request: HttpRequest, **context: object) -> dict[str, object]:
    menu = _fragment(
        key("menu"),
        "shop/partials/menu.html",
        {"categories": cat.category_roots(cat.category_tree())},
        CATEGORY_CACHE_S,
    )
    return {
        "category_menu": menu,
        "cart_count": cart_count(request),
        "query": request.GET.get("q", ""),
        **context,
    }


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


def home(request: HttpRequest) -> HttpResponse:
    channel = cat.shop_channel()
    return render(
        request,
        "shop/home.html",
        _base(request, products=cat.products_newest(channel=channel), channel=channel),
    )


def _listing(request: HttpRequest, title: str, results: str) -> HttpResponse:
    return render(
        request,
        "shop/listing.html",
        _base(request, title=title, results=mark_safe(results)),  # noqa: S308
    )


def category(request: HttpRequest, code: str) -> HttpResponse:
    channel = cat.shop_channel()
    try:
        page = cat.products_in_category(channel=channel, code=code, page=_page_number(request))
    except NotFound:
        raise Http404("No such category")
    tree = cat.category_tree()
    node = page.category
    results = render_to_string(
        "shop/partials/listing_results.html",
        {
            "page": page,
            "path": cat.category_path(tree, node.id) if node else [],
            "subcategories": [tree[c] for c in node.children] if node else [],
        },
    )
    return _listing(request, page.title, results)


def search(request: HttpRequest) -> HttpResponse:
    """A results page is the same for every shopper: kept SEARCH_CACHE_S
    (prices and "in stock" as of then), shown only while none of its products
    has been withdrawn."""
    channel = cat.shop_channel()
    query = cat.search_query(request.GET.get("q", ""))
    number = _page_number(request)
    cache_key = key("search", channel.pk, number, query)
    cached = cache.get(cache_key)
    if cached is None or not cat.products_still_listed(cached[1]):
        page = cat.products_search(channel=channel, query=query, page=number)
        results = render_to_string(
            "shop/partials/listing_results.html", {"page": page, "path": [], "subcategories": []}
        )
        cached = (page.title, page.product_ids, str(results))
        cache.set(cache_key, cached, SEARCH_CACHE_S)
    return _listing(request, cached[0], cached[2])


def product(request: HttpRequest, code: str) -> HttpResponse:
    channel = cat.shop_channel()
    try:
        view = cat.product_detail(channel=channel, code=code, sku=request.GET.get("sku"))
    except NotFound:
        raise Http404("No such product")
    if request.headers.get("HX-Request"):  # another variant chosen: its part of the page only
        return render(
            request, "shop/partials/variant.html", {"view": view, "product": view.product}
        )
    context = {"path": view.path, "product": view.product}
    return render(
        request,
        "shop/product.html",
        _base(
            request,
            view=view,
            product=view.product,
            product_crumbs=_fragment(
                key("product_crumbs", code, view.read_at),
                "shop/partials/crumbs.html",
                context,
                PRODUCT_CACHE_S,
            ),
            product_intro=_fragment(
                key("product_intro", code, view.read_at),
                "shop/partials/product_intro.html",
                context,
                PRODUCT_CACHE_S,
            ),
        ),
    )


# --- Cart ------------------------------------------------------------------------------


def _int(value: str | None, default: int = 0) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return None


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    is_htmx = bool(request.headers.get("HX-Request"))
    sku_id = _int(request.POST.get("sku_id"))
    quantity = _int(request.POST.get("quantity"), 1)
    error = ""
    added = None
    if sku_id is None or quantity is None or quantity < 1:
        error = "Choose an item and a quantity of 1 or more."
    else:
        try:
            added = cart_line_add(
                token=request.session.get(SESSION_CART),
                channel=cat.shop_channel(),
                customer_id=customer_id_of(request),
                sku_id=sku_id,
                quantity=quantity,
            )
        except DomainError as exc:
            error = exc.message
        else:
            if request.session.get(SESSION_CART) != added.cart.token:
                request.session[SESSION_CART] = added.cart.token
    if is_htmx:
        return render(
            request,
            "shop/partials/cart_added.html",
            {
                "error": error,
                "added": added.quantity if added else 0,
                "cart_count": added.cart_count if added else cart_count(request),
            },
        )
    if error:
        messages.error(request, error)
        return HttpResponseRedirect(request.META.get("HTTP_REFERER") or reverse("shop:cart"))
    messages.success(request, "Added to your cart.")
    return redirect("shop:cart")


def cart(request: HttpRequest) -> HttpResponse:
    current = current_cart(request)
    short: list[int] = []
    if current is not None and current.status == Cart.Status.OPEN:
        short = cart_holds_renew(cart=current)
        current = current_cart(request, fresh=True)
    view = sel.cart_view(cart=current, customer_id=customer_id_of(request))
    return render(request, "shop/cart.html", _base(request, view=view, short=short))


@require_POST
def cart_line(request: HttpRequest, line_id: int) -> HttpResponse:
    current = current_cart(request)
    line = current.lines.filter(pk=line_id).first() if current else None
    if current is None or line is None:
        messages.error(request, "That line is no longer in your cart.")
        return redirect("shop:cart")
    quantity = 0 if "remove" in request.POST else _int(request.POST.get("quantity"))
    if quantity is None or quantity < 0:
        messages.error(request, "quantity: give a whole number, 0 to remove the item.")
        return redirect("shop:cart")
    try:
        cart_line_set(cart=current, sku_id=line.sku_id, quantity=quantity)
        messages.success(request, "Your cart is updated." if quantity else "Removed.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("shop:cart")


@require_POST
def cart_coupon(request: HttpRequest) -> HttpResponse:
    current = current_cart(request)
    if current is None:
        messages.error(request, "coupon: add something to your cart first.")
        return redirect("shop:cart")
    try:
        if "remove" in request.POST:
            cart_coupon_remove(cart=current, code=request.POST.get("remove", ""))
            messages.success(request, "Coupon removed.")
        else:
            code = cart_coupon_add(
                cart=current,
                code=request.POST.get("coupon", ""),
                customer_id=customer_id_of(request),
            )
            messages.success(request, f"Coupon {code} applied.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("shop:cart")


# --- Checkout ---------------------------------------------------------------------------


def _checkout_form(request: HttpRequest, current: Cart, data: object = None) -> CheckoutForm:
    initial: dict[str, object] = {"fulfilment": "ship", "country": "FR"}
    user = request.user
    if user.is_authenticated:
        initial.update(
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            name=f"{user.first_name} {user.last_name}".strip(),
        )
    form = CheckoutForm(data, initial=initial)  # type: ignore[arg-type]
    methods = sel.shipping_methods()
    currency = current.channel.company.currency
    method_field = form.fields["shipping_method"]
    store_field = form.fields["pickup_store"]
    assert isinstance(method_field, forms.ChoiceField)
    assert isinstance(store_field, forms.ChoiceField)
    method_field.choices = [(m.code, f"{m.name} — {m.price} {currency}") for m in methods]
    if methods:
        method_field.initial = methods[0].code
    stores = sel.pickup_stores(cart=current)
    store_field.choices = [("", "Choose a store")] + [
        (s.code, f"{s.name} — {s.address}" if s.address else s.name) for s in stores
    ]
    return form


def checkout(request: HttpRequest) -> HttpResponse:
    current = current_cart(request)
    if current is None or not current.lines.exists():
        messages.error(request, "Your cart is empty.")
        return redirect("shop:cart")
    if current.status != Cart.Status.OPEN:
        messages.error(request, "Your payment is being processed; wait a moment.")
        return redirect("shop:cart")
    errors: list[dict[str, str]] = []
    problem = ""
    short: list[dict] = []
    if request.method == "POST":
        form = _checkout_form(request, current, request.POST)
        form.is_valid()  # fields are read leniently; the service names what is wrong
        raw = {k: str(form.data.get(k, "")) for k in form.fields}
        data = CheckoutData(
            email=raw["email"],
            first_name=raw["first_name"],
            last_name=raw["last_name"],
            phone=raw["phone"],
            fulfilment=raw["fulfilment"],
            address={k: raw[k] for k in ("name", "line1", "postcode", "city", "country")},
            shipping_method=raw["shipping_method"],
            pickup_store=raw["pickup_store"],
            card_token=raw["card_token"],
            points_amount=raw.get("points_amount") or Decimal(0),
            gift_card_code=raw.get("gift_card_code") or "",
            gift_card_amount=raw.get("gift_card_amount") or Decimal(0),
            source_code=request.session.get("shop_source", ""),
        )
        try:
            order = checkout_place(cart=current, data=data, customer_id=customer_id_of(request))
        except OutOfStock as exc:
            problem, short = exc.message, exc.extra.get("short", [])
        except PaymentRefused as exc:
            problem = exc.message
        except DomainError as exc:
            problem = exc.message
            errors = exc.extra.get("errors", [])
        else:
            placed = list(request.session.get(SESSION_ORDERS, []))
            request.session[SESSION_ORDERS] = [*placed[-19:], order.pk]
            request.session.pop(SESSION_CART, None)
            return redirect("shop:confirmation", order_id=order.pk)
    else:
        form = _checkout_form(request, current)
    if current.status == Cart.Status.OPEN:
        cart_holds_renew(cart=current)
    view = sel.cart_view(
        cart=current_cart(request, fresh=True), customer_id=customer_id_of(request)
    )
    methods = {m.code: m for m in ShippingMethod.objects.filter(active=True)}
    status = 409 if (problem and not errors) else (422 if errors else 200)
    return render(
        request,
        "shop/checkout.html",
        _base(
            request,
            form=form,
            view=view,
            problem=problem,
            errors=errors,
            error_fields={e["field"].removeprefix("address.") for e in errors},
            short=short,
            methods=methods,
        ),
        status=status,
    )


def confirmation(request: HttpRequest, order_id: int) -> HttpResponse:
    customer = customer_id_of(request)
    allowed = order_id in request.session.get(SESSION_ORDERS, [])
    order = (
        Order.objects.select_related("pickup_store", "channel")
        .prefetch_related("lines")
        .filter(pk=order_id)
        .first()
    )
    if order is None or not (allowed or (customer and order.customer_id == customer)):
        raise Http404("No such order in this session")
    return render(request, "shop/confirmation.html", _base(request, order=order))
