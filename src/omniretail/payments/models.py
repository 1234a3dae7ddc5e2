from django.db import models

from omniretail.core.models import Terminal
from omniretail.orders.models import Order


class Payment(models.Model):
    """Money received for an order by one tender. No card data: a card payment
    keeps only the gateway token, brand and last four digits."""

    class Tender(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        GIFT_CARD = "gift_card", "Gift card"
        STORE_CREDIT = "store_credit", "Store credit"
        LOYALTY = "loyalty", "Loyalty points"
        CHECK = "check", "Check"
        ON_ACCOUNT = "on_account", "On account"

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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(condition=models.Q(change__gte=0), name="payment_change_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tender_display()} {self.amount} {self.currency}"
