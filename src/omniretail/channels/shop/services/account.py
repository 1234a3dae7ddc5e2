"""Shop logins: one Django user (username = the e-mail, lower case) linked to
the one customer with that e-mail, and sign-in rate limiting kept in the
database so every app process counts the same failures."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.customers.services import customer_match_or_create

from ..domain import (
    SIGN_IN_MAX_PER_ACCOUNT,
    SIGN_IN_MAX_PER_IP,
    SIGN_IN_WINDOW_MINUTES,
    sign_in_blocked,
)
from ..models import ShopAccount, SignInFailure
from .cart import SHOP_ACTOR


def username_for(email: str) -> str:
    return email.strip().lower()


def account_sign_up(
    *, email: str, password: str, first_name: str, last_name: str = ""
) -> ShopAccount:
    """Open a shop account. The customer is the one already known by this
    e-mail in any channel (a store's loyalty customer finds their in-store
    purchases and points), or a new one."""
    email = email.strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed("email: enter a valid e-mail address.", field="email")
    if not first_name.strip():
        raise ValidationFailed("first_name: enter your first name.", field="first_name")
    user_model = get_user_model()
    user = user_model(username=username_for(email), email=email, first_name=first_name.strip())
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(f"password: {' '.join(exc.messages)}", field="password")
    if len(password) < 8:
        raise ValidationFailed("password: use at least 8 characters.", field="password")
    taken = Conflict(
        "email: an account with this e-mail already exists; sign in or reset your password.",
        field="email",
        code="account_exists",
    )
    try:
        with transaction.atomic():
            customer = customer_match_or_create(
                actor=SHOP_ACTOR,
                email=email,
                first_name=first_name,
                last_name=last_name,
                source="web sign-up",
            ).customer
            if ShopAccount.objects.filter(customer=customer).exists():
                raise taken
            user.last_name = last_name.strip()
            user.set_password(password)
            user.save()
            return ShopAccount.objects.create(user=user, customer=customer)
    except IntegrityError:  # the same e-mail signed up twice at once
        raise taken


def _window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=SIGN_IN_WINDOW_MINUTES)


def sign_in_allowed(*, email: str, ip: str, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    since = _window_start(now)
    account = SignInFailure.objects.filter(
        key=f"account:{username_for(email)}", at__gte=since
    ).count()
    by_ip = SignInFailure.objects.filter(key=f"ip:{ip}", at__gte=since).count()
    return not sign_in_blocked(account_failures=account, ip_failures=by_ip)


def sign_in_failed(*, email: str, ip: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        SignInFailure.objects.filter(at__lt=_window_start(now)).delete()
        SignInFailure.objects.bulk_create(
            [
                SignInFailure(key=f"account:{username_for(email)}", at=now),
                SignInFailure(key=f"ip:{ip}", at=now),
            ]
        )


def sign_in(*, email: str, password: str, ip: str) -> AbstractBaseUser:
    """Check the password, unless this account or address has failed too
    often lately (then refuse without checking, so guessing stops)."""
    from django.contrib.auth import authenticate

    if not sign_in_allowed(email=email, ip=ip):
        raise Conflict(
            f"Too many failed sign-ins; wait {SIGN_IN_WINDOW_MINUTES} minutes or reset your "
            "password.",
            field="email",
            code="rate_limited",
        )
    user = authenticate(username=username_for(email), password=password)
    if user is None or not ShopAccount.objects.filter(user_id=user.pk).exists():
        sign_in_failed(email=email, ip=ip)
        raise ValidationFailed(
            "The e-mail or the password is wrong; check them or reset your password.",
            field="password",
        )
    return user


__all__ = [
    "SIGN_IN_MAX_PER_ACCOUNT",
    "SIGN_IN_MAX_PER_IP",
    "account_sign_up",
    "sign_in",
    "sign_in_allowed",
    "sign_in_failed",
    "username_for",
]
