"""The one JSON API (`/api/v1/`, OpenAPI at `/api/docs`). Each app adds its router."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaValidationError

from omniretail.catalog.api import router as catalog_router
from omniretail.channels.api import router as orders_router
from omniretail.channels.api_returns import router as returns_router
from omniretail.channels.pos.api import router as pos_router
from omniretail.core.api_auth import KeyAuth, StaffSessionAuth
from omniretail.core.errors import DomainError
from omniretail.fulfilment.api import router as fulfilment_router
from omniretail.inventory.api import router as inventory_router
from omniretail.inventory.api_purchasing import router as purchasing_router
from omniretail.inventory.api_transfers import router as transfers_router
from omniretail.loyalty.api import customers_router as loyalty_customers_router
from omniretail.loyalty.api import giftcards_router
from omniretail.payments.api import drawer_router as pos_drawer_router
from omniretail.payments.api import router as payments_router
from omniretail.pricing.api import router as pricing_router

api = NinjaAPI(
    title="OmniRetail API",
    version="1",
    description=(
        "One system of record for stores and online channels. Authenticate with "
        "`Authorization: Bearer omni_<prefix>_<secret>` (channel or terminal key) or a "
        "staff session. Mutating calls accept an `Idempotency-Key` header."
    ),
    auth=[KeyAuth(), StaffSessionAuth()],
    docs_url="/docs",
    urls_namespace="api-v1",
)


def _field_path(loc: list[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "payload", "query", "path", "header")]
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "body"


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.http_status)


@api.exception_handler(SchemaValidationError)
def _schema_error(request: HttpRequest, exc: SchemaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_path(list(e.get("loc", []))), "message": e.get("msg", "invalid")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    body = {
        "error": {
            "code": "invalid",
            "message": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
        }
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {
        "error": {
            "code": "unauthenticated",
            "message": "Send 'Authorization: Bearer <api key>' or sign in as staff.",
        }
    }
    return api.create_response(request, body, status=401)


api.add_router("/catalog", catalog_router)
api.add_router("/inventory", inventory_router)
api.add_router("/inventory", transfers_router)
api.add_router("/inventory", purchasing_router)
api.add_router("/pos", pos_router)
api.add_router("/orders", orders_router)
api.add_router("/returns", returns_router)
api.add_router("/fulfilment", fulfilment_router)
api.add_router("/giftcards", giftcards_router)
api.add_router("/customers", loyalty_customers_router)
api.add_router("/pos/drawer", pos_drawer_router)
api.add_router("/payments", payments_router)
api.add_router("/pricing", pricing_router)

# Customers: search, match, consents, merge, erase; history and export (they read orders).
from omniretail.channels.customer_api import router as customer_history_router  # noqa: E402
from omniretail.customers.api import router as customers_router  # noqa: E402

api.add_router("/customers", customers_router)
api.add_router("/customers", customer_history_router)
api.add_router("/pos", "omniretail.channels.pos.api_terminal.router")  # the till: api_terminal.py
api.add_router("/reports", "omniretail.reporting.api.router")  # campaign report: reporting/api.py
