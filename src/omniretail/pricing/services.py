"""Writes: a price change (a new row in the price history) and coupon redemption."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.money import quantum
from omniretail.pricing.engine import coupon_refusal, normalise_code
from omniretail.pricing.engine_types import Context
from omniretail.pricing.engine_types import Coupon as CouponRule
from omniretail.pricing.models import Coupon, CouponRedemption, PriceList, PriceListEntry


@transaction.atomic
def price_set(
    *,
    price_list: PriceList,
    variant: Variant,
    price: Decimal,
    actor: Actor,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    reason: str = "",
) -> PriceListEntry:
    """Give `variant` a price in `price_list` from `valid_from` (now by default).

    A lasting price (no `valid_to`) closes the open-ended row in force at
    `valid_from` and opens a new one, which itself ends where an already
    scheduled lasting price starts. A temporary price (a weekend sale) is a
    row with both dates laid over the regular one: within a list the latest
    starting row in force wins. Rows are never overwritten: they are the
    price history."""
    require(actor, "pricing.write")
    start = valid_from or timezone.now()
    q = quantum(price_list.currency)
    if price < 0 or price != price.quantize(q):
        raise ValidationFailed(
            f"price: send an amount of 0 or more in {q} steps (got {price}).", field="price"
        )
    if valid_to is not None and valid_to <= start:
        raise ValidationFailed("valid_to: must be after valid_from.", field="valid_to")
    # One writer per list at a time: two price changes never both stay open.
    PriceList.objects.select_for_update().filter(pk=price_list.pk).values_list("pk").get()
    rows = PriceListEntry.objects.filter(price_list=price_list, variant=variant)
    end = valid_to
    if valid_to is None:
        rows.filter(valid_to__isnull=True, valid_from__lt=start).update(valid_to=start)
        later = (
            rows.filter(valid_to__isnull=True, valid_from__gte=start)
            .order_by("valid_from")
            .values_list("valid_from", flat=True)
            .first()
        )
        if later == start:
            raise Conflict(
                f"{variant.sku} already has a price in {price_list.code} from "
                f"{start.isoformat()}; pick another start.",
                field="valid_from",
            )
        end = later
    entry = PriceListEntry.objects.create(
        price_list=price_list, variant=variant, price=price, valid_from=start, valid_to=end
    )
    audit_record(
        actor=actor,
        action="price.set",
        object_type="price_list_entry",
        object_id=entry.pk,
        reason=reason,
        data={
            "price_list": price_list.code,
            "sku": variant.sku,
            "price": str(price),
            "valid_from": start.isoformat(),
            "valid_to": end.isoformat() if end else None,
        },
    )
    return entry


def _rule(coupon: Coupon, *, uses: int, customer_uses: int) -> CouponRule:
    return CouponRule(
        code=coupon.code,
        promotion_id=coupon.promotion_id,
        max_uses=coupon.max_uses,
        uses=uses,
        per_customer_limit=coupon.per_customer_limit,
        customer_uses=customer_uses,
        valid_from=coupon.valid_from,
        valid_to=coupon.valid_to,
    )


def coupon_redeem(
    *,
    codes: Sequence[str],
    order_type: str,
    order_id: str | int,
    customer_id: int | None = None,
    at: dt.datetime | None = None,
) -> list[CouponRedemption]:
    """Count one use of each coupon for an order; call it inside the order's
    transaction (the caller checked the order's permission), with the codes
    the engine reported in `coupons_applied`.

    Per coupon, one conditional UPDATE (`uses < max_uses`, in its dates,
    active) takes the row lock; the per-customer limit is then counted under
    that lock, so two tills can never both take the last use. Coupons are
    touched in code order (no deadlock). Any refusal raises ValidationFailed
    naming `coupon_codes[i]` and undoes every use taken here."""
    now = at or timezone.now()
    normalised = [normalise_code(c) for c in codes]
    order_ref = str(order_id)
    redemptions: list[CouponRedemption] = []
    with transaction.atomic():
        for index, code in sorted(enumerate(normalised), key=lambda pair: pair[1]):
            field = f"coupon_codes[{index}]"
            if not code:
                raise ValidationFailed(f"{field}: send a coupon code.", field=field)
            taken = Coupon.objects.filter(
                Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")),
                Q(valid_from__isnull=True) | Q(valid_from__lte=now),
                Q(valid_to__isnull=True) | Q(valid_to__gt=now),
                code=code,
                active=True,
            ).update(uses=F("uses") + 1)
            coupon = Coupon.objects.filter(code=code).first()
            if coupon is None:
                raise ValidationFailed(
                    f"Coupon {code} does not exist; check the code.", field=field
                )
            if not coupon.active:
                raise ValidationFailed(f"Coupon {code} is no longer active.", field=field)
            context = Context(channel="", currency="EUR", now=now, customer_id=customer_id)
            if not taken:
                why = coupon_refusal(_rule(coupon, uses=coupon.uses, customer_uses=0), context)
                raise ValidationFailed(why or f"Coupon {code} cannot be used now.", field=field)
            if coupon.per_customer_limit is not None:
                used = (
                    CouponRedemption.objects.filter(coupon=coupon, customer_id=customer_id).count()
                    if customer_id is not None
                    else 0
                )
                # Our own use is already counted in coupon.uses: check the customer only.
                rule = _rule(coupon, uses=coupon.uses - 1, customer_uses=used)
                why = coupon_refusal(rule, context)
                if why:
                    raise ValidationFailed(why, field=field)
            if CouponRedemption.objects.filter(
                coupon=coupon, order_type=order_type, order_id=order_ref
            ).exists():
                raise Conflict(
                    f"Coupon {code} is already redeemed for {order_type} {order_ref}.", field=field
                )
            redemptions.append(
                CouponRedemption.objects.create(
                    coupon=coupon,
                    customer_id=customer_id,
                    order_type=order_type,
                    order_id=order_ref,
                )
            )
    return redemptions
