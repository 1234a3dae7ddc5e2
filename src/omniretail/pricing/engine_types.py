"""The pricing engine's input and output: frozen dataclasses and their plain-dict form.

Pure Python (no Django). `from_dict(PricingInput, data)` parses what a POS
terminal, a vector file or the API sends, naming the bad field
(`lines[0].quantity`); `to_dict(result)` gives JSON-ready dicts: amounts as
strings ("12.50"), datetimes as ISO 8601 with an offset, tuples as lists.
`from_dict(type(x), to_dict(x)) == x` for every input and result.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Literal, TypeVar

from omniretail.core.errors import ValidationFailed
from omniretail.core.money import to_decimal

TaxMode = Literal["included", "excluded"]
Rounding = Literal["line", "total"]
PromotionKind = Literal["percent_off", "amount_off", "buy_x_get_y"]
PromotionTarget = Literal["items", "order"]

# --- input -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CartLine:
    line_id: str
    sku: str
    variant_id: int
    product_id: int
    tax_class: str
    base_price: Decimal  # the variant's own price: used when no price list has one
    quantity: int
    category_ids: tuple[int, ...] = ()  # the product's category and its ancestors
    manual_discount: Decimal = Decimal(0)  # amount off the whole line, given by staff


@dataclass(frozen=True, slots=True)
class Context:
    channel: str
    currency: str
    now: dt.datetime
    store: str | None = None
    customer_id: int | None = None
    customer_group: str | None = None
    coupon_codes: tuple[str, ...] = ()
    source_code: str | None = None


@dataclass(frozen=True, slots=True)
class PriceEntry:
    variant_id: int
    price: Decimal
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None  # exclusive; None = until further notice


@dataclass(frozen=True, slots=True)
class PriceList:
    code: str
    currency: str
    priority: int = 0
    channel: str | None = None  # None = every channel
    store: str | None = None  # None = every store
    customer_group: str | None = None  # None = every customer
    entries: tuple[PriceEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    code: str
    name: str
    kind: PromotionKind
    value: Decimal  # percent (10 = 10 %), amount, or for buy_x_get_y the percent off the Y
    target: PromotionTarget = "items"
    variant_ids: tuple[int, ...] = ()
    product_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    buy_quantity: int = 0
    get_quantity: int = 0
    min_spend: Decimal | None = None
    campaign: str | None = None
    exclusive: bool = False
    priority: int = 0
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    channels: tuple[str, ...] = ()  # empty = every channel
    customer_groups: tuple[str, ...] = ()  # empty = every customer
    coupon_required: bool = False


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    promotion_id: int
    max_uses: int | None = None  # None = unlimited
    uses: int = 0
    per_customer_limit: int | None = None
    customer_uses: int = 0  # uses by the context's customer
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    code: str
    name: str
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    tax_mode: TaxMode
    tax_rates: dict[str, Decimal]  # tax class code -> rate (0.20 = 20 %)
    rounding: Rounding = "line"
    price_lists: tuple[PriceList, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    source_codes: dict[str, str] = field(default_factory=dict)  # code -> campaign code


@dataclass(frozen=True, slots=True)
class PricingInput:
    lines: tuple[CartLine, ...]
    context: Context
    rules: Rules


# --- output ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineDiscount:
    promotion_id: int | None  # None for a manual discount
    code: str | None
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_id: str
    sku: str
    variant_id: int
    quantity: int
    tax_class: str
    tax_rate: Decimal
    list_price: Decimal  # the regular price (cross it out when above unit_price)
    unit_price: Decimal
    price_source: str  # "price_list:<code>" or "base"
    amount: Decimal  # unit_price × quantity, before discounts
    discounts: tuple[LineDiscount, ...]
    discount_total: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal  # sum of line amounts before discounts, in the rules' tax mode
    discount_total: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal  # what the customer pays


@dataclass(frozen=True, slots=True)
class TaxRow:
    rate: Decimal
    base: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    promotion_id: int
    code: str
    name: str
    amount: Decimal
    coupon_code: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    kind: Literal["promotion", "coupon", "source_code"]
    code: str
    reason: str
    promotion_id: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignAttribution:
    code: str
    name: str
    via: Literal["source_code", "promotion"]
    source_code: str | None = None


@dataclass(frozen=True, slots=True)
class PricingResult:
    currency: str
    tax_mode: TaxMode
    rounding: Rounding
    lines: tuple[PricedLine, ...]
    totals: Totals
    tax_summary: tuple[TaxRow, ...]
    applied: tuple[AppliedPromotion, ...]
    coupons_applied: tuple[str, ...]
    rejected: tuple[Rejection, ...]
    campaign: CampaignAttribution | None


# --- plain-dict conversion ---------------------------------------------------


def to_dict(value: Any) -> Any:
    """A dataclass (or anything inside one) as JSON-ready plain values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_dict(v) for k, v in value.items()}
    return value


T = TypeVar("T")


def from_dict(cls: type[T], data: Any) -> T:
    """Parse plain values into `cls`; ValidationFailed names the bad field."""
    return _parse(cls, data, "")  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path or 'body'}: {message}", field=path or "body")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _parse(tp: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if data is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _parse(inner[0], data, path)
    if origin is Literal:
        if data not in args:
            raise _bad(path, f"{data!r} is not one of {', '.join(map(repr, args))}")
        return data
    if origin is tuple:
        if not isinstance(data, list | tuple):
            raise _bad(path, "send a list")
        return tuple(_parse(args[0], item, f"{path}[{i}]") for i, item in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict):
            raise _bad(path, "send an object")
        return {str(k): _parse(args[1], v, _join(path, str(k))) for k, v in data.items()}
    if tp is Decimal:
        try:
            return to_decimal(data, field=path)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field=path) from None
    if tp is dt.datetime:
        if not isinstance(data, str):
            raise _bad(path, 'send an ISO 8601 date-time like "2025-06-06T18:00:00+02:00"')
        try:
            moment = dt.datetime.fromisoformat(data)
        except ValueError:
            raise _bad(path, f"{data!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise _bad(path, f"{data!r} has no UTC offset; add one, e.g. +00:00")
        return moment
    if tp is bool:
        if not isinstance(data, bool):
            raise _bad(path, "send true or false")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise _bad(path, "send a whole number")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise _bad(path, "send a string")
        return data
    if isinstance(tp, type) and is_dataclass(tp):
        if not isinstance(data, dict):
            raise _bad(path, "send an object")
        hints = _hints(tp)
        names = {f.name for f in fields(tp)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise _bad(_join(path, unknown[0]), "unknown field; remove it or check its spelling")
        values: dict[str, Any] = {}
        for f in fields(tp):
            if f.name in data:
                values[f.name] = _parse(hints[f.name], data[f.name], _join(path, f.name))
            elif f.default is MISSING and f.default_factory is MISSING:
                raise _bad(_join(path, f.name), "required")
        return tp(**values)
    raise TypeError(f"cannot parse {tp!r}")  # a programming error, not bad input
