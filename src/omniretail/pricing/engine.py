"""The one pricing engine: a pure function from (cart, context, rules) to prices.

No Django, no database: every channel (and the offline POS, in JavaScript,
held to the same golden vectors) prices a cart the same way. The rules —
precedence of price lists, stacking of promotions, thresholds, coupons, tax
and rounding — are described in this app's README; keep the two in step.

Amounts are in the rules' tax mode: tax-included prices (EU) are gross,
tax-excluded prices (US) are net. Every discount is rounded to the currency's
minor unit when it is taken, so a line's remaining amount is always exact.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from omniretail.core.errors import ValidationFailed
from omniretail.core.money import Money, allocate, quantum, tax_from_gross, tax_on_net
from omniretail.pricing.engine_types import (
    AppliedPromotion,
    CampaignAttribution,
    CartLine,
    Context,
    Coupon,
    LineDiscount,
    PricedLine,
    PriceList,
    PricingInput,
    PricingResult,
    Promotion,
    Rejection,
    Rules,
    TaxRow,
    Totals,
)

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def in_window(
    valid_from: dt.datetime | None, valid_to: dt.datetime | None, at: dt.datetime
) -> bool:
    """Half-open validity: from `valid_from` included to `valid_to` excluded."""
    return (valid_from is None or valid_from <= at) and (valid_to is None or at < valid_to)


def normalise_code(code: str) -> str:
    """Coupon and source codes are case-insensitive and ignore surrounding spaces."""
    return code.strip().upper()


def _num(value: Decimal) -> str:
    """10 → "10", 12.50 → "12.5": for percentages in human-readable reasons."""
    text = format(value.normalize(), "f")
    return text


def _day(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")


# --- prices -----------------------------------------------------------------


@dataclass(slots=True)
class _Price:
    unit: Decimal
    source: str
    regular: Decimal


def _list_applies(price_list: PriceList, ctx: Context) -> bool:
    return (
        price_list.currency.upper() == ctx.currency
        and (price_list.channel is None or price_list.channel == ctx.channel)
        and (price_list.store is None or price_list.store == ctx.store)
        and (price_list.customer_group is None or price_list.customer_group == ctx.customer_group)
    )


def _specificity(price_list: PriceList) -> int:
    return sum(
        x is not None for x in (price_list.channel, price_list.store, price_list.customer_group)
    )


def _prices(lines: tuple[CartLine, ...], rules: Rules, ctx: Context) -> dict[int, _Price]:
    """Each variant's price by the precedence rule (README): the most specific
    list wins, then the highest priority, then the lowest price, then the list
    code. Within a list, of the entries in force the latest `valid_from` wins.
    The regular price is the same choice among open-ended entries only."""
    wanted = {line.variant_id for line in lines}
    # variant -> [(rank key, list code, price)] for any entry / open-ended entries
    now_best: dict[int, list[tuple[tuple[int, int, Decimal, str], Decimal]]] = defaultdict(list)
    regular_best: dict[int, list[tuple[tuple[int, int, Decimal, str], Decimal]]] = defaultdict(list)
    for price_list in rules.price_lists:
        if not _list_applies(price_list, ctx):
            continue
        spec, prio = _specificity(price_list), price_list.priority
        latest: dict[int, tuple[dt.datetime | None, Decimal]] = {}
        latest_open: dict[int, tuple[dt.datetime | None, Decimal]] = {}
        for entry in price_list.entries:
            if entry.variant_id not in wanted or not in_window(
                entry.valid_from, entry.valid_to, ctx.now
            ):
                continue
            for store, eligible in ((latest, True), (latest_open, entry.valid_to is None)):
                if not eligible:
                    continue
                held = store.get(entry.variant_id)
                if held is None or _newer(entry.valid_from, entry.price, held):
                    store[entry.variant_id] = (entry.valid_from, entry.price)
        for variant_id, (_, price) in latest.items():
            now_best[variant_id].append(((-spec, -prio, price, price_list.code), price))
        for variant_id, (_, price) in latest_open.items():
            regular_best[variant_id].append(((-spec, -prio, price, price_list.code), price))
    result: dict[int, _Price] = {}
    for line in lines:
        if line.variant_id in result:
            continue
        found = now_best.get(line.variant_id)
        regular_found = regular_best.get(line.variant_id)
        regular = min(regular_found)[1] if regular_found else line.base_price
        if found:
            key, price = min(found)
            result[line.variant_id] = _Price(price, f"price_list:{key[3]}", regular)
        else:
            result[line.variant_id] = _Price(line.base_price, "base", regular)
    return result


def _newer(
    valid_from: dt.datetime | None, price: Decimal, held: tuple[dt.datetime | None, Decimal]
) -> bool:
    held_from, held_price = held
    if held_from is None:
        return valid_from is not None or price < held_price
    if valid_from is None:
        return False
    return valid_from > held_from or (valid_from == held_from and price < held_price)


# --- promotions ---------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    source: CartLine
    price: _Price
    amount: Decimal
    remaining: Decimal
    discounts: list[LineDiscount]


def _promotion_refusal(promotion: Promotion, ctx: Context) -> str | None:
    """Why a promotion is not in force for this context (None = it is)."""
    if not in_window(promotion.valid_from, promotion.valid_to, ctx.now):
        if promotion.valid_from is not None and ctx.now < promotion.valid_from:
            return f"the promotion starts on {_day(promotion.valid_from)}"
        return f"the promotion ended on {_day(promotion.valid_to)}"  # type: ignore[arg-type]
    if promotion.channels and ctx.channel not in promotion.channels:
        return f"the promotion does not run on channel {ctx.channel}"
    if promotion.customer_groups and ctx.customer_group not in promotion.customer_groups:
        groups = ", ".join(promotion.customer_groups)
        return f"the promotion is reserved for customer group(s) {groups}"
    return None


def coupon_refusal(coupon: Coupon, ctx: Context) -> str | None:
    code = coupon.code
    if coupon.valid_from is not None and ctx.now < coupon.valid_from:
        return f"Coupon {code} is valid from {_day(coupon.valid_from)}"
    if coupon.valid_to is not None and ctx.now >= coupon.valid_to:
        return f"Coupon {code} expired on {_day(coupon.valid_to)}"
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return f"Coupon {code} has been used the maximum {coupon.max_uses} times"
    if coupon.per_customer_limit is not None:
        if ctx.customer_id is None:
            return (
                f"Coupon {code} is limited to {coupon.per_customer_limit} use(s) per customer: "
                "identify the customer to use it"
            )
        if coupon.customer_uses >= coupon.per_customer_limit:
            return (
                f"Coupon {code} has already been used {coupon.customer_uses} time(s) by this "
                f"customer (limit {coupon.per_customer_limit})"
            )
    return None


@dataclass(slots=True)
class _PromotionIndex:
    """Promotions by what they target, built once per rules bundle."""

    by_id: dict[int, Promotion]
    position: dict[int, int]  # promotion id -> position in rules.promotions
    by_variant: dict[int, list[int]]  # target id -> positions in rules.promotions
    by_product: dict[int, list[int]]
    by_category: dict[int, list[int]]
    whole_order: list[int]


# Keyed by the identity of a rules bundle's promotions tuple, which the entry
# keeps alive (so the id cannot be reused while cached); bounded.
_INDEXES: dict[int, tuple[tuple[Promotion, ...], _PromotionIndex]] = {}


def _promotion_index(promotions: tuple[Promotion, ...]) -> _PromotionIndex:
    hit = _INDEXES.get(id(promotions))
    if hit is not None and hit[0] is promotions:
        return hit[1]
    index = _PromotionIndex({}, {}, defaultdict(list), defaultdict(list), defaultdict(list), [])
    for position, promotion in enumerate(promotions):
        index.by_id[promotion.id] = promotion
        index.position[promotion.id] = position
        if promotion.target == "order":
            index.whole_order.append(position)
            continue
        for variant_id in promotion.variant_ids:
            index.by_variant[variant_id].append(position)
        for product_id in promotion.product_ids:
            index.by_product[product_id].append(position)
        for category_id in promotion.category_ids:
            index.by_category[category_id].append(position)
    if len(_INDEXES) >= 32:
        _INDEXES.clear()
    _INDEXES[id(promotions)] = (promotions, index)
    return index


def _matches(index: _PromotionIndex, lines: list[_Line]) -> dict[int, list[int]]:
    """Promotion position -> the indexes of the lines it targets, found from
    the lines' side: O(lines × their keys), never O(lines × promotions)."""
    found: dict[int, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        src = line.source
        hits = set(index.by_variant.get(src.variant_id, ()))
        hits.update(index.by_product.get(src.product_id, ()))
        for category_id in src.category_ids:
            hits.update(index.by_category.get(category_id, ()))
        for position in hits:
            found[position].append(i)
    everything = list(range(len(lines)))
    for position in index.whole_order:
        found[position] = everything
    return found


def _round(value: Decimal, q: Decimal) -> Decimal:
    return value.quantize(q, rounding=ROUND_HALF_UP)


def _discounts(
    promotion: Promotion,
    lines: list[_Line],
    matched: list[int],
    ctx: Context,
    q: Decimal,
    given: dict[int, int],
) -> tuple[dict[int, Decimal], str | None]:
    """The discount per line index a promotion gives, or why it gives none.
    For buy X get Y, `given` receives the units given per line."""
    cur = ctx.currency
    value = promotion.value
    live = [i for i in matched if lines[i].remaining > 0]
    base = sum((lines[i].remaining for i in matched), ZERO)
    if promotion.min_spend is not None and base < promotion.min_spend:
        what = "the order" if promotion.target == "order" else "the eligible items"
        return {}, (
            f"spend at least {promotion.min_spend} {cur} on {what} to get this promotion "
            f"({_round(promotion.min_spend - base, q)} {cur} to go)"
        )
    if not live:
        return {}, "nothing left to discount on the eligible items"
    parts: dict[int, Decimal] = {}
    if promotion.kind == "buy_x_get_y":
        group = promotion.buy_quantity + promotion.get_quantity
        units = sum(lines[i].source.quantity for i in live)
        if group <= 0 or units < group:
            missing = group - units
            return {}, f"add {missing} more eligible item(s) to get this promotion"
        free = (units // group) * promotion.get_quantity
        # The cheapest units are the ones given (free or at value % off).
        for i in sorted(live, key=lambda i: (lines[i].remaining / lines[i].source.quantity, i)):
            if free <= 0:
                break
            line = lines[i]
            take = min(free, line.source.quantity)
            free -= take
            given[i] = take
            share = line.remaining * take / line.source.quantity
            parts[i] = min(line.remaining, _round(share * value / HUNDRED, q))
    elif promotion.target == "order":
        total = sum((lines[i].remaining for i in live), ZERO)
        if promotion.kind == "percent_off":
            off = _round(total * value / HUNDRED, q)
        else:
            off = min(value, total)
        shares = allocate(Money(off, cur), [lines[i].remaining for i in live])
        parts = {i: share.amount for i, share in zip(live, shares, strict=True)}
    else:
        for i in live:
            line = lines[i]
            if promotion.kind == "percent_off":
                off = _round(line.remaining * value / HUNDRED, q)
            else:
                off = value * line.source.quantity
            parts[i] = min(line.remaining, off)
    parts = {i: amount for i, amount in parts.items() if amount > 0}
    if not parts:
        return {}, "nothing left to discount on the eligible items"
    return parts, None


def _reason(promotion: Promotion, line: _Line, count: int, cur: str, coupon: str | None) -> str:
    value = _num(promotion.value)
    if promotion.kind == "buy_x_get_y":
        what = "free" if promotion.value == HUNDRED else f"at {value}% off"
        text = (
            f"{promotion.name}: buy {promotion.buy_quantity} get {promotion.get_quantity} "
            f"{what} ({count} of {line.source.quantity} here)"
        )
    elif promotion.target == "order":
        off = f"{value}%" if promotion.kind == "percent_off" else f"{promotion.value} {cur}"
        text = f"{promotion.name}: {off} off the order (this line's share)"
    elif promotion.kind == "percent_off":
        text = f"{promotion.name}: {value}% off"
    else:
        text = f"{promotion.name}: {promotion.value} {cur} off each"
    return f"{text}, coupon {coupon}" if coupon else text


# --- the engine -----------------------------------------------------------------


def _validate(data: PricingInput) -> None:
    ctx = data.context
    if ctx.now.tzinfo is None:
        raise ValidationFailed("context.now needs a UTC offset", field="context.now")
    q = quantum(ctx.currency)
    for i, line in enumerate(data.lines):
        if line.quantity <= 0:
            raise ValidationFailed(
                f"lines[{i}].quantity: send a quantity above 0 (got {line.quantity})",
                field=f"lines[{i}].quantity",
            )
        if line.manual_discount < 0 or line.manual_discount != line.manual_discount.quantize(q):
            raise ValidationFailed(
                f"lines[{i}].manual_discount: send an amount of 0 or more in {q} steps",
                field=f"lines[{i}].manual_discount",
            )
        if line.tax_class not in data.rules.tax_rates:
            raise ValidationFailed(
                f"lines[{i}].tax_class: no rate for tax class {line.tax_class!r}; "
                "add it to rules.tax_rates",
                field=f"lines[{i}].tax_class",
            )


def price_cart(data: PricingInput) -> PricingResult:
    """Price a cart: every line's list and unit price, discounts with their
    reasons, net, tax and gross; totals; a tax summary; what applied, what was
    rejected and why; the campaign the sale is attributed to."""
    ctx = data.context
    if ctx.currency != ctx.currency.upper():
        ctx = replace(ctx, currency=ctx.currency.upper())
    _validate(data)
    rules = data.rules
    cur = ctx.currency
    q = quantum(cur)

    prices = _prices(data.lines, rules, ctx)
    lines: list[_Line] = []
    for source in data.lines:
        price = prices[source.variant_id]
        amount = _round(price.unit * source.quantity, q)
        line = _Line(source, price, amount, amount, [])
        manual = min(source.manual_discount, amount)
        if manual > 0:
            line.remaining -= manual
            line.discounts.append(LineDiscount(None, None, manual, "Manual discount"))
        lines.append(line)

    rejected: list[Rejection] = []
    index = _promotion_index(rules.promotions)
    unlocked = _coupons_check(rules, ctx, index.by_id, rejected)
    matches = _matches(index, lines)
    for promotion_id in unlocked:  # so that a coupon targeting nothing here is explained
        matches.setdefault(index.position[promotion_id], [])

    candidates = [
        (promotion, matched)
        for promotion, matched in ((rules.promotions[pos], found) for pos, found in matches.items())
        if (not promotion.coupon_required or promotion.id in unlocked)
        and _promotion_refusal(promotion, ctx) is None
    ]
    candidates.sort(key=lambda pair: (-pair[0].priority, pair[0].id))
    applied: list[AppliedPromotion] = []
    exclusive: AppliedPromotion | None = None
    for promotion, matched in candidates:
        coupon = unlocked.get(promotion.id)
        if not matched:
            if coupon:
                rejected.append(
                    Rejection(
                        "coupon",
                        coupon,
                        f"Coupon {coupon}: none of the items in the cart is eligible for "
                        f"{promotion.name}",
                        promotion.id,
                    )
                )
            continue
        refusal: str | None = None
        if exclusive is not None:
            refusal = f"not combined: the exclusive promotion {exclusive.code} applies"
        elif promotion.exclusive and applied:
            refusal = (
                f"exclusive promotion, not combined with {applied[0].code} "
                "(which has a higher priority)"
            )
        parts: dict[int, Decimal] = {}
        given: dict[int, int] = {}
        if refusal is None:
            parts, refusal = _discounts(promotion, lines, matched, ctx, q, given)
        if refusal is not None:
            _reject(rejected, promotion, coupon, refusal)
            continue
        for i, off in parts.items():
            line = lines[i]
            reason = _reason(promotion, line, given.get(i, 0), cur, coupon)
            line.discounts.append(LineDiscount(promotion.id, promotion.code, off, reason))
            line.remaining -= off
        entry = AppliedPromotion(
            promotion.id,
            promotion.code,
            promotion.name,
            sum(parts.values(), ZERO),
            coupon,
            promotion.campaign,
        )
        applied.append(entry)
        if promotion.exclusive:
            exclusive = entry

    priced, tax_rows = _taxes(lines, rules, cur)
    subtotal = sum((line.amount for line in priced), ZERO)
    discount_total = sum((line.discount_total for line in priced), ZERO)
    campaign = _campaign(rules, ctx, applied, rejected)
    totals = Totals(
        subtotal=subtotal,
        discount_total=discount_total,
        net=sum((line.net for line in priced), ZERO),
        tax=sum((line.tax for line in priced), ZERO),
        gross=sum((line.gross for line in priced), ZERO),
    )
    return PricingResult(
        currency=cur,
        tax_mode=rules.tax_mode,
        rounding=rules.rounding,
        lines=tuple(priced),
        totals=totals,
        tax_summary=tax_rows,
        applied=tuple(applied),
        coupons_applied=tuple(a.coupon_code for a in applied if a.coupon_code),
        rejected=tuple(rejected),
        campaign=campaign,
    )


def _reject(
    rejected: list[Rejection], promotion: Promotion, coupon: str | None, reason: str
) -> None:
    if coupon:
        rejected.append(Rejection("coupon", coupon, f"Coupon {coupon}: {reason}", promotion.id))
    else:
        rejected.append(
            Rejection("promotion", promotion.code, f"{promotion.name}: {reason}", promotion.id)
        )


def _coupons_check(
    rules: Rules, ctx: Context, promotions: dict[int, Promotion], rejected: list[Rejection]
) -> dict[int, str]:
    """Which promotions the entered coupons unlock: promotion id -> coupon code."""
    if not ctx.coupon_codes:
        return {}
    coupons = {normalise_code(c.code): c for c in rules.coupons}
    unlocked: dict[int, str] = {}
    seen: set[str] = set()
    for raw in ctx.coupon_codes:
        code = normalise_code(raw)
        if not code:
            continue
        if code in seen:
            rejected.append(Rejection("coupon", code, f"Coupon {code} was entered twice"))
            continue
        seen.add(code)
        coupon = coupons.get(code)
        if coupon is None:
            rejected.append(
                Rejection("coupon", code, f"Coupon {code} does not exist; check the code")
            )
            continue
        refusal = coupon_refusal(replace(coupon, code=code), ctx)
        promotion = promotions.get(coupon.promotion_id)
        if refusal is None and promotion is None:
            refusal = f"Coupon {code} has no promotion in force"
        if refusal is None and promotion is not None:
            why = _promotion_refusal(promotion, ctx)
            if why is not None:
                refusal = f"Coupon {code}: {why}"
            elif promotion.id in unlocked:
                refusal = (
                    f"Coupon {code} gives the same promotion as coupon "
                    f"{unlocked[promotion.id]}, already entered"
                )
        if refusal is not None:
            rejected.append(Rejection("coupon", code, refusal, coupon.promotion_id))
            continue
        unlocked[coupon.promotion_id] = code
    return unlocked


# --- tax ------------------------------------------------------------------------


def _taxes(
    lines: list[_Line], rules: Rules, cur: str
) -> tuple[list[PricedLine], tuple[TaxRow, ...]]:
    """Tax per line. Rounding "line": each line's tax is rounded; "total": the
    tax of each rate is rounded once on the sum of its lines, then allocated
    back to them in proportion to their amounts (so lines still add up)."""
    included = rules.tax_mode == "included"
    rates = [rules.tax_rates[line.source.tax_class] for line in lines]
    taxes: list[Decimal] = [ZERO] * len(lines)
    if rules.rounding == "line":
        for i, line in enumerate(lines):
            amount = Money(line.remaining, cur)
            taxes[i] = (
                tax_from_gross(amount, rates[i]) if included else tax_on_net(amount, rates[i])
            ).amount
    else:
        by_rate: dict[Decimal, list[int]] = defaultdict(list)
        for i, rate in enumerate(rates):
            by_rate[rate].append(i)
        for rate, members in by_rate.items():
            total = Money(sum((lines[i].remaining for i in members), ZERO), cur)
            rate_tax = tax_from_gross(total, rate) if included else tax_on_net(total, rate)
            shares = allocate(rate_tax, [lines[i].remaining for i in members])
            for i, share in zip(members, shares, strict=True):
                taxes[i] = share.amount
    priced: list[PricedLine] = []
    summary: dict[Decimal, list[Decimal]] = {}
    for i, line in enumerate(lines):
        tax = taxes[i]
        net, gross = (
            (line.remaining - tax, line.remaining)
            if included
            else (line.remaining, line.remaining + tax)
        )
        src = line.source
        priced.append(
            PricedLine(
                line_id=src.line_id,
                sku=src.sku,
                variant_id=src.variant_id,
                quantity=src.quantity,
                tax_class=src.tax_class,
                tax_rate=rates[i],
                list_price=line.price.regular,
                unit_price=line.price.unit,
                price_source=line.price.source,
                amount=line.amount,
                discounts=tuple(line.discounts),
                discount_total=line.amount - line.remaining,
                net=net,
                tax=tax,
                gross=gross,
            )
        )
        row = summary.setdefault(rates[i], [ZERO, ZERO, ZERO])
        row[0] += net
        row[1] += tax
        row[2] += gross
    rows = tuple(TaxRow(rate, b, t, g) for rate, (b, t, g) in sorted(summary.items()))
    return priced, rows


# --- campaign -----------------------------------------------------------------


def _campaign(
    rules: Rules, ctx: Context, applied: list[AppliedPromotion], rejected: list[Rejection]
) -> CampaignAttribution | None:
    """A valid source code attributes the sale to its campaign; otherwise the
    first applied promotion (in priority order) that belongs to a campaign."""
    campaigns = {c.code: c for c in rules.campaigns}
    if ctx.source_code and ctx.source_code.strip():
        code = normalise_code(ctx.source_code)
        sources = {normalise_code(k): v for k, v in rules.source_codes.items()}
        campaign = campaigns.get(sources.get(code, ""))
        if campaign is None:
            rejected.append(
                Rejection("source_code", code, f"Source code {code} is unknown; check the code")
            )
        elif not in_window(campaign.valid_from, campaign.valid_to, ctx.now):
            rejected.append(
                Rejection(
                    "source_code",
                    code,
                    f"Source code {code}: campaign {campaign.code} is not running now",
                )
            )
        else:
            return CampaignAttribution(campaign.code, campaign.name, "source_code", code)
    for entry in applied:
        found = campaigns.get(entry.campaign or "")
        if found is not None:
            return CampaignAttribution(found.code, found.name, "promotion", None)
    return None
