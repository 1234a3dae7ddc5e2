"""Reports API (`/api/v1/reports/`): the campaign report as JSON.

Staff sessions only in effect: reports need `books.read` (store managers for
their stores, accountants and admins), which no API key scope grants.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from omniretail.core.api_auth import request_actor
from omniretail.reporting.selectors import (
    CampaignFigures,
    PromotionDiscount,
    campaign_report,
)

router = Router(tags=["reports"])


class CampaignQuery(Schema):
    date_from: dt.date = Field(..., alias="from", description="First day, YYYY-MM-DD (local)")
    date_to: dt.date = Field(..., alias="to", description="Last day, YYYY-MM-DD (included)")
    campaign: str | None = Field(None, max_length=64, description="Only this campaign code")


class PromotionOut(Schema):
    code: str
    name: str
    orders: int
    amount: Decimal


class FiguresOut(Schema):
    orders: int
    revenue_net: Decimal
    revenue_gross: Decimal
    discount_total: Decimal
    promotion_discount: Decimal
    other_discount: Decimal
    average_order_gross: Decimal
    average_order_net: Decimal
    coupon_redemptions: int
    via_source_code: int
    via_promotion: int


class ChannelRowOut(Schema):
    channel: str
    channel_name: str
    figures: FiguresOut
    promotions: list[PromotionOut]


class CampaignOut(Schema):
    code: str = Field(..., description="Empty for orders no campaign claims")
    name: str
    currency: str
    total: FiguresOut
    promotions: list[PromotionOut]
    channels: list[ChannelRowOut]


class CampaignReportOut(Schema):
    date_from: dt.date = Field(..., alias="from")
    date_to: dt.date = Field(..., alias="to")
    cancelled_orders: int
    campaigns: list[CampaignOut]


def _figures(f: CampaignFigures) -> FiguresOut:
    return FiguresOut(
        orders=f.orders,
        revenue_net=f.revenue_net,
        revenue_gross=f.revenue_gross,
        discount_total=f.discount,
        promotion_discount=f.promotion_discount,
        other_discount=f.other_discount,
        average_order_gross=f.average_order_gross,
        average_order_net=f.average_order_net,
        coupon_redemptions=f.coupon_redemptions,
        via_source_code=f.via_source_code,
        via_promotion=f.via_promotion,
    )


def _promotions(rows: tuple[PromotionDiscount, ...]) -> list[PromotionOut]:
    return [PromotionOut(code=p.code, name=p.name, orders=p.orders, amount=p.amount) for p in rows]


@router.get("/campaigns", response=CampaignReportOut, by_alias=True)
def reports_campaigns(request: HttpRequest, query: Query[CampaignQuery]) -> CampaignReportOut:
    """Orders, revenue (net and gross, cancelled orders left out), discounts (in
    total and per promotion), average order value, coupon redemptions and
    attribution (source code or promotion), per campaign and channel, for
    orders placed from `from` to `to` (local days, both included)."""
    actor = request_actor(request)
    report = campaign_report(
        actor=actor,
        date_from=query.date_from,
        date_to=query.date_to,
        campaign_code=query.campaign or None,
    )
    return CampaignReportOut(
        **{"from": report.date_from, "to": report.date_to},
        cancelled_orders=report.cancelled_orders,
        campaigns=[
            CampaignOut(
                code=c.code,
                name=c.name,
                currency=c.currency,
                total=_figures(c.total),
                promotions=_promotions(c.promotions),
                channels=[
                    ChannelRowOut(
                        channel=row.channel_code,
                        channel_name=row.channel_name,
                        figures=_figures(row.figures),
                        promotions=_promotions(row.promotions),
                    )
                    for row in c.channels
                ],
            )
            for c in report.campaigns
        ],
    )
