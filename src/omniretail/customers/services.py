from __future__ import annotations

from django.db import IntegrityError, transaction

from omniretail.customers.models import Customer


def customer_find_or_create(
    *, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer:
    """The one customer with this e-mail (case-insensitive), created if new.
    Never search-then-insert blindly: the unique index on lower(email) decides,
    and a concurrent creation is found on retry."""
    email = email.strip()
    existing = Customer.objects.filter(email__iexact=email).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Customer.objects.create(
                email=email,
                first_name=first_name.strip() or email.split("@")[0],
                last_name=last_name.strip(),
                phone=phone.strip(),
            )
    except IntegrityError:
        return Customer.objects.get(email__iexact=email)
