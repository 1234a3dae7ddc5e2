from typing import Any

from django.conf import settings
from django.db import models

from omniretail.core.models import NumberSeries, Store, Terminal
from omniretail.orders.models import Order

MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}


class Payment(models.Model):
    """Money received for an order by one tender. No card data: a card payment
    keeps only the gateway's reference, the brand and the last four digits."""

    class Tender(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        GIFT_CARD = "gift_card", "Gift card"
        STORE_CREDIT = "store_credit", "Store credit"
        LOYALTY = "loyalty", "Loyalty points"
        CHECK = "check", "Check"
        ON_ACCOUNT = "on_account", "On account"
        # A sale made offline whose gift card, points or credit no longer covered
        # it when it reached the server: accepted, written off, flagged.
        OFFLINE_SHORTFALL = "offline_short", "Offline tender shortfall (written off)"
        # The value of goods returned in an exchange, applied to the replacement
        # sale (see channels/exchanges.py): no money moves.
        EXCHANGE_CREDIT = "exchange_credit", "Exchange credit (goods returned)"

    class Status(models.TextChoices):
        AUTHORISED = "authorised", "Authorised (not captured)"
        CAPTURED = "captured", "Captured / received"
        VOIDED = "voided", "Voided"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    tender = models.CharField(max_length=16, choices=Tender.choices)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Applied to the order")
    tendered = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Handed over by the customer"
    )
    change = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    rounding = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Cash rounding to the smallest coin"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.CAPTURED, db_index=True
    )
    captured_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Cards: what was captured (None until then)"
    )
    refunded_amount = models.DecimalField(**MONEY, default=0)
    gateway = models.CharField(max_length=32, blank=True, help_text="Cards: 'test' or 'stripe'")
    gateway_reference = models.CharField(max_length=100, blank=True, db_index=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(condition=models.Q(change__gte=0), name="payment_change_gte_0"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0), name="payment_refunded_gte_0"
            ),
            models.UniqueConstraint(
                fields=["order", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="payment_order_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_tender_display()} {self.amount} {self.currency}"

    @property
    def settled_amount(self) -> Any:
        """What the customer actually paid by this tender (a card: what was captured)."""
        if self.tender == self.Tender.CARD:
            return self.captured_amount or 0
        return self.amount

    @property
    def refundable_amount(self) -> Any:
        return self.settled_amount - self.refunded_amount


class Refund(models.Model):
    """Money given back on one payment, to its original tender."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Refunded"
        REQUESTED = "requested", "Requested from the tender's owner (loyalty, credit)"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    tender = models.CharField(max_length=16, choices=Payment.Tender.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices)
    gateway_reference = models.CharField(max_length=100, blank=True)
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    drawer_session = models.ForeignKey(
        "payments.DrawerSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text="Cash refunds: the drawer the cash left",
    )
    requested_by = models.CharField(max_length=200)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The manager who approved a refund above the cashier's limit",
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_gt_0"),
            models.UniqueConstraint(
                fields=["payment", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="refund_payment_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} on payment #{self.payment_id}"


class WebhookEvent(models.Model):
    """An incoming gateway event, claimed once by (gateway, event id) in the
    transaction that applies it. Only normalised fields are kept."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        STALE = "stale", "Stale (state already further): ignored"
        UNKNOWN = "unknown", "No payment with this reference: ignored"

    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=64)
    reference = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(help_text="When the gateway created the event")
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="webhook_events"
    )
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"], name="webhook_event_gateway_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id} {self.type} ({self.outcome})"


# --- cash drawers -----------------------------------------------------------------------


class DrawerSession(models.Model):
    """A till's cash drawer from opening (with a float) to closing (counted)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="drawers")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="drawers")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3)
    float_amount = models.DecimalField(**MONEY)
    opened_at = models.DateTimeField(db_index=True)
    opened_by = models.CharField(max_length=200)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    counted = models.JSONField(default=dict, blank=True, help_text="denomination → count")
    counted_total = models.DecimalField(**MONEY, null=True, blank=True)
    expected_cash = models.DecimalField(**MONEY, null=True, blank=True)
    over_short = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="counted − expected: negative is short"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=models.Q(status="open"),
                name="drawer_one_open_per_terminal",
                violation_error_message="This terminal already has an open drawer.",
            ),
            models.CheckConstraint(
                condition=models.Q(float_amount__gte=0), name="drawer_float_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"Drawer #{self.pk} {self.terminal.code} ({self.status})"


class DrawerMovement(models.Model):
    """Cash put in (paid in) or taken out (paid out) of a drawer, with a reason."""

    class Kind(models.TextChoices):
        PAID_IN = "in", "Paid in"
        PAID_OUT = "out", "Paid out"

    session = models.ForeignKey(DrawerSession, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="drawer_move_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}: {self.reason}"


class ZReport(models.Model):
    """The closing report of a drawer session: numbered on the terminal's
    gapless Z series, chained by hash, never updated or deleted."""

    series = models.ForeignKey(NumberSeries, on_delete=models.PROTECT, related_name="z_reports")
    number = models.PositiveBigIntegerField()
    full_number = models.CharField(max_length=64, unique=True)
    session = models.OneToOneField(DrawerSession, on_delete=models.PROTECT, related_name="z_report")
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="z_reports")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="z_reports")
    issued_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    float_amount = models.DecimalField(**MONEY)
    tenders = models.JSONField(help_text="per tender: count, sales, refunds, net")
    cash_sales = models.DecimalField(**MONEY)
    cash_refunds = models.DecimalField(**MONEY)
    paid_in = models.DecimalField(**MONEY)
    paid_out = models.DecimalField(**MONEY)
    expected_cash = models.DecimalField(**MONEY)
    counted = models.JSONField()
    counted_total = models.DecimalField(**MONEY)
    over_short = models.DecimalField(**MONEY)
    net_sales = models.DecimalField(**MONEY, help_text="sales − refunds, every tender")
    grand_total = models.DecimalField(
        **MONEY, help_text="Perpetual: net sales of every Z report of this terminal so far"
    )
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["series", "number"]
        verbose_name = "Z report"
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="zreport_series_number")
        ]

    def __str__(self) -> str:
        return self.full_number

    def hash_fields(self) -> dict[str, Any]:
        """The canonical content the chain hash covers: every field but the hashes."""
        return {
            "series_id": self.series_id,
            "number": self.number,
            "full_number": self.full_number,
            "session_id": self.session_id,
            "terminal_id": self.terminal_id,
            "store_id": self.store_id,
            "issued_at": self.issued_at,
            "opened_at": self.opened_at,
            "currency": self.currency,
            "float_amount": self.float_amount,
            "tenders": self.tenders,
            "cash_sales": self.cash_sales,
            "cash_refunds": self.cash_refunds,
            "paid_in": self.paid_in,
            "paid_out": self.paid_out,
            "expected_cash": self.expected_cash,
            "counted": self.counted,
            "counted_total": self.counted_total,
            "over_short": self.over_short,
            "net_sales": self.net_sales,
            "grand_total": self.grand_total,
        }


# --- the built-in test gateway's own books (it plays an outside system) --------------------


class GatewayTestCharge(models.Model):
    """A charge at the test gateway: what a real gateway keeps on its side."""

    reference = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    captured_amount = models.DecimalField(**MONEY, default=0)
    refunded_amount = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=20)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    decline_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} {self.status}"


class GatewayTestRefund(models.Model):
    reference = models.CharField(max_length=64, unique=True)
    charge = models.ForeignKey(GatewayTestCharge, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.reference} {self.amount}"


class GatewayTestEvent(models.Model):
    """A webhook event the test gateway owes us, delivered by a task and
    retried by the worker's sweep until our endpoint accepts it."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class CreditAccount(models.Model):
    """A customer who may buy on account, up to a credit limit. `balance` is
    what the customer owes; it only changes by conditional updates in the
    same transaction as the payment or settlement that moves it."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_account"
    )
    currency = models.CharField(max_length=3)
    credit_limit = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY, default=0)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="credit_limit_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} owes {self.balance} of {self.credit_limit} {self.currency}"
