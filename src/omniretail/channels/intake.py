"""Orders from external channels (marketplaces, an existing e-commerce site)
and staff (phone orders): validated whole, booked once, routed and held."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction

from omniretail.catalog.models import Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import Actor, require
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.core.models import Channel, Store
from omniretail.customers.services import customer_find_or_create
from omniretail.fulfilment.models import RoutingDecision
from omniretail.fulfilment.services import order_route_holds
from omniretail.inventory.models import Reservation
from omniretail.orders.models import Order, OrderLine
from omniretail.orders.services import (
    DuplicateExternalId,
    NewLine,
    NewOrder,
    order_create_with_lines,
)
from omniretail.pricing.selectors import QuoteItem, cart_price

ADDRESS_FIELDS = ("name", "line1", "postcode", "city", "country")
PAYMENT_STATES = ("unpaid", "authorized", "paid")


@dataclass(frozen=True)
class IntakeLine:
    quantity: int
    sku: str | None = None
    barcode: str | None = None
    unit_price: Decimal | None = None  # the channel's price; default: the catalog's


@dataclass(frozen=True)
class IntakeCustomer:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class IntakeOrder:
    external_id: str
    lines: list[IntakeLine]
    customer: IntakeCustomer | None = None
    fulfilment: str = "ship"
    pickup_store: str | None = None
    shipping_address: dict[str, str] = field(default_factory=dict)
    shipping_price: Decimal = Decimal(0)
    payment_status: str = "unpaid"


@dataclass(frozen=True)
class IntakeResult:
    order: Order
    created: bool
    routing: RoutingDecision | None
    # A new order's lines, each with its variant, and the holds routing
    # placed for them (for the reply, not read again).
    lines: list[OrderLine] | None = None
    holds: list[Reservation] | None = None


def _errors(data: IntakeOrder) -> tuple[list[dict[str, str]], dict, Store | None]:
    """Every problem with the request at once, each naming its field."""
    errors: list[dict[str, str]] = []

    def bad(where: str, message: str) -> None:
        errors.append({"field": where, "message": message})

    if not data.external_id.strip() or len(data.external_id) > 100:
        bad("external_id", "give the channel's own order id (1 to 100 characters)")
    if not data.lines:
        bad("lines", "an order needs at least one line")
    for i, line in enumerate(data.lines):
        if bool(line.sku) == bool(line.barcode):
            bad(f"lines[{i}]", "give either a sku or a barcode")
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            bad(f"lines[{i}].quantity", f"must be a whole number above 0 (got {line.quantity})")
        if line.unit_price is not None and line.unit_price < 0:
            bad(f"lines[{i}].unit_price", "must be 0 or more")
    priced = [ln.unit_price is not None for ln in data.lines]
    if any(priced) and not all(priced):
        first = priced.index(False)
        bad(
            f"lines[{first}].unit_price",
            "give unit_price on every line (the channel's own prices) or on none (our "
            "price lists and promotions)",
        )
    found = variants_by_code(
        skus=[ln.sku for ln in data.lines if ln.sku],
        barcodes=[ln.barcode for ln in data.lines if ln.barcode],
    )
    for i, line in enumerate(data.lines):
        code = line.sku or line.barcode
        if code and code not in found:
            label = "sku" if line.sku else "barcode"
            bad(f"lines[{i}].{label}", f"unknown {label} {code!r}; check the code")
        elif code and not found[code].active:
            bad(f"lines[{i}].sku", f"{code!r} is no longer sold")
    store = None
    if data.fulfilment == "ship":
        for name in ADDRESS_FIELDS:
            if not str(data.shipping_address.get(name, "")).strip():
                bad(f"shipping_address.{name}", "required to ship the order")
        country = str(data.shipping_address.get("country", ""))
        if country and (len(country) != 2 or not country.isalpha()):
            bad("shipping_address.country", "use the two-letter ISO code, e.g. FR")
    elif data.fulfilment == "pickup":
        store = Store.objects.filter(code=data.pickup_store or "", active=True).first()
        if store is None:
            bad("pickup_store", f"unknown or closed store {data.pickup_store!r}; use a store code")
    else:
        bad("fulfilment", "use 'ship' or 'pickup'")
    if data.shipping_price < 0:
        bad("shipping_price", "must be 0 or more")
    if data.payment_status not in PAYMENT_STATES:
        bad("payment_status", f"use one of {', '.join(PAYMENT_STATES)}")
    if data.customer is not None:
        try:
            validate_email(data.customer.email)
        except DjangoValidationError:
            bad("customer.email", f"{data.customer.email!r} is not an e-mail address")
    return errors, found, store


@transaction.atomic(savepoint=False)
def order_intake(*, channel: Channel, data: IntakeOrder, actor: Actor) -> IntakeResult:
    """Book a channel's order once: (channel, external id) is unique, so a
    resend returns the first order. Refused input changes nothing; stock that
    is not there refuses the order (409) unless its products are sold on
    backorder. Called inside a transaction, it takes no savepoint of its own:
    a refusal rolls the caller's whole transaction back, so a caller that
    wants to go on after one must open its own savepoint."""
    require(actor, "orders.intake")
    if actor.channel_id is not None and actor.channel_id != channel.pk:
        raise PermissionDenied(
            "This key belongs to another channel; send orders for your own channel.",
            field="channel",
        )
    if not channel.active:
        raise ValidationFailed(f"Channel {channel.code} is closed.", field="channel")
    existing = _booked(channel.pk, data.external_id)
    if existing is not None:
        return IntakeResult(Order.objects.get(pk=existing), created=False, routing=None)
    errors, found, store = _errors(data)
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    company = channel.company
    customer = (
        customer_find_or_create(
            email=data.customer.email,
            first_name=data.customer.first_name,
            last_name=data.customer.last_name,
            phone=data.customer.phone,
        )
        if data.customer
        else None
    )
    standard_rate = max(
        (found[ln.sku or ln.barcode or ""].product.tax_class.rate for ln in data.lines),
        default=Decimal(0),
    )
    # The channel's own prices (a marketplace), or ours: the one pricing engine.
    quote = None
    if data.lines and all(ln.unit_price is None for ln in data.lines):
        quote = cart_price(
            channel_id=channel.pk,
            items=[
                QuoteItem(quantity=ln.quantity, variant_id=found[ln.sku or ln.barcode or ""].pk)
                for ln in data.lines
            ],
            customer_id=customer.pk if customer else None,
            channel=channel,
            variants={v.pk: v for v in found.values()},
            customer_group=(None, None)
            if customer is not None and customer.group_id is None
            else None,
        )
    new = NewOrder(
        channel=channel,
        external_id=data.external_id,
        lines=[
            NewLine(
                sku_id=found[ln.sku or ln.barcode or ""].pk,
                quantity=ln.quantity,
                unit_price=ln.unit_price
                if ln.unit_price is not None
                else found[ln.sku or ln.barcode or ""].price,
                tax_rate=found[ln.sku or ln.barcode or ""].product.tax_class.rate,
                description=_description(found[ln.sku or ln.barcode or ""]),
            )
            for ln in data.lines
        ],
        currency=company.currency,
        prices_include_tax=company.prices_include_tax,
        fulfilment_method=data.fulfilment,
        customer_id=customer.pk if customer else None,
        email=data.customer.email if data.customer else "",
        pickup_store_id=store.pk if store else None,
        shipping_address=dict(data.shipping_address) if data.fulfilment == "ship" else {},
        shipping_gross=data.shipping_price,
        # Shipping is taxed at the highest rate of the goods it carries (EU practice).
        shipping_tax_rate=standard_rate,
        payment_status=data.payment_status,
        pricing=quote,
    )
    try:
        order, lines = order_create_with_lines(new=new, actor=actor)
    except DuplicateExternalId as dup:  # a concurrent resend won the race
        return IntakeResult(dup.order, created=False, routing=None)
    variants_by_id = {v.pk: v for v in found.values()}
    routing, holds = order_route_holds(
        order=order,
        actor=actor,
        new_lines=lines,
        sku_codes={pk: v.sku for pk, v in variants_by_id.items()},
    )
    for line in lines:
        line.sku = variants_by_id[line.sku_id]
    return IntakeResult(order, created=True, routing=routing, lines=lines, holds=holds)


def _booked(channel_id: int, external_id: str) -> int | None:
    """The id of the order already booked under this external id, if any:
    asked of every order, found only for a resend (plain SQL: it is one
    index probe)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Order._meta.db_table} "  # noqa: S608 (name from the model)
            "WHERE channel_id = %s AND external_id = %s",
            [channel_id, external_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _description(variant: Variant) -> str:
    return f"{variant.product.name} {variant.name}"
