"""Every write of the loyalty app: points, gift cards, store credit."""

from omniretail.loyalty.services.giftcards import (
    GiftCardRedemption,
    GiftCardRefund,
    giftcard_by_code,
    giftcard_issue,
    giftcard_redeem,
    giftcard_refund,
    giftcard_void,
    giftcards_expire,
)
from omniretail.loyalty.services.points import (
    PointsRedemption,
    PointsReversal,
    points_adjust,
    points_earn,
    points_expire,
    points_redeem,
    points_reverse,
    program_for,
)
from omniretail.loyalty.services.storecredit import (
    StoreCreditMove,
    store_credit_issue,
    store_credit_redeem,
    store_credit_reverse,
)

__all__ = [
    "GiftCardRedemption",
    "GiftCardRefund",
    "PointsRedemption",
    "PointsReversal",
    "StoreCreditMove",
    "giftcard_by_code",
    "giftcard_issue",
    "giftcard_redeem",
    "giftcard_refund",
    "giftcard_void",
    "giftcards_expire",
    "points_adjust",
    "points_earn",
    "points_expire",
    "points_redeem",
    "points_reverse",
    "program_for",
    "store_credit_issue",
    "store_credit_redeem",
    "store_credit_reverse",
]
