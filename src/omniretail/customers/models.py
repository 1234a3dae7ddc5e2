from django.db import models
from django.db.models.functions import Lower


class CustomerGroup(models.Model):
    """A tier or segment (retail, VIP, staff, trade): price lists, promotions
    and loyalty earning rates can target a group."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """One customer across every channel."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    loyalty_card = models.CharField(max_length=32, unique=True, null=True, blank=True)
    group = models.ForeignKey(
        CustomerGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
