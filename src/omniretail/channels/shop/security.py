"""Response hardening for every shop page.

- Content-Security-Policy: everything from our own origin only; no inline
  script or style (the shop's JavaScript and CSS are static files), no
  framing, forms post only to us.
- Sessions: Django rotates the session key at sign-in (`login`); cookies are
  HttpOnly, and Secure in production (settings: SESSION_COOKIE_SECURE and
  CSRF_COOKIE_SECURE follow OMNI_ENV=production). See docs in the shop README.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def shop_headers(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        # A campaign link (…?source=NEWSLETTER-NOV) attributes the visit's order.
        source = (request.GET.get("source") or "").strip()
        if source and len(source) <= 64 and source.replace("-", "").replace("_", "").isalnum():
            request.session["shop_source"] = source.upper()
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CSP
        response["Referrer-Policy"] = "same-origin"
        response["X-Content-Type-Options"] = "nosniff"
        if request.session.get("shop_cart") or request.user.is_authenticated:
            # Personal pages (cart, account) are never stored by shared caches.
            response["Cache-Control"] = "private, no-store"
        return response

    return wrapped


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, the proxy must set REMOTE_ADDR (e.g.
    gunicorn --forwarded-allow-ips): a client-sent X-Forwarded-For is not
    trusted here, or anyone could dodge the sign-in limit."""
    return str(request.META.get("REMOTE_ADDR", "unknown"))[:100]
