"""Roles, permissions and store scoping, checked by services (not only views).

An `Actor` is whoever performs a business action: a staff user (with roles
per store), a channel or terminal API key (with scopes), or the system.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from omniretail.core.errors import PermissionDenied
from omniretail.core.models import StaffMembership

Role = str
CASHIER, STORE_MANAGER, WAREHOUSE, ACCOUNTANT, ADMIN = (
    "cashier",
    "store_manager",
    "warehouse",
    "accountant",
    "admin",
)
ALL_ROLES = (CASHIER, STORE_MANAGER, WAREHOUSE, ACCOUNTANT, ADMIN)

# Which role may do what. Admins may do everything; accountants read.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "sale.create": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "stock.receive": frozenset({WAREHOUSE, STORE_MANAGER, ADMIN}),
    "stock.move": frozenset({WAREHOUSE, STORE_MANAGER, ADMIN}),
    "stock.reserve": frozenset({CASHIER, WAREHOUSE, STORE_MANAGER, ADMIN}),
    "stock.count": frozenset({WAREHOUSE, STORE_MANAGER, ADMIN}),
    "stock.purchase": frozenset({WAREHOUSE, STORE_MANAGER, ADMIN}),
    "stock.read": frozenset({CASHIER, STORE_MANAGER, WAREHOUSE, ACCOUNTANT, ADMIN}),
    "catalog.write": frozenset({ADMIN}),
    "catalog.read": frozenset({CASHIER, STORE_MANAGER, WAREHOUSE, ACCOUNTANT, ADMIN}),
    "orders.read": frozenset({CASHIER, STORE_MANAGER, ACCOUNTANT, ADMIN}),
    "orders.write": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "orders.intake": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "orders.fulfil": frozenset({CASHIER, STORE_MANAGER, WAREHOUSE, ADMIN}),
    "orders.return": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "books.read": frozenset({ACCOUNTANT, ADMIN, STORE_MANAGER}),
    "org.write": frozenset({ADMIN}),
    "books.export": frozenset({ACCOUNTANT, ADMIN}),
    "pricing.read": frozenset({CASHIER, STORE_MANAGER, ACCOUNTANT, ADMIN}),
    "pricing.write": frozenset({ADMIN}),
    "loyalty.read": frozenset({CASHIER, STORE_MANAGER, ACCOUNTANT, ADMIN}),
    "loyalty.redeem": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "loyalty.issue": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "loyalty.adjust": frozenset({STORE_MANAGER, ADMIN}),
    "payments.take": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "payments.refund": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "payments.refund_approve": frozenset({STORE_MANAGER, ADMIN}),
    "drawer.operate": frozenset({CASHIER, STORE_MANAGER, ADMIN}),
    "drawer.read": frozenset({CASHIER, STORE_MANAGER, ACCOUNTANT, ADMIN}),
}

# API key scopes that grant a permission to a channel or terminal key.
SCOPES: dict[str, str] = {
    "sale.create": "sales:write",
    "stock.read": "stock:read",
    "stock.receive": "stock:write",
    "stock.move": "stock:write",
    "stock.reserve": "stock:reserve",
    "stock.count": "stock:write",
    "stock.purchase": "stock:write",
    "catalog.read": "catalog:read",
    "orders.read": "orders:read",
    "orders.write": "orders:write",
    "orders.intake": "orders:write",
    "orders.fulfil": "orders:fulfil",
    "orders.return": "returns:write",
    "pricing.read": "pricing:read",
    "loyalty.read": "loyalty:read",
    "loyalty.redeem": "loyalty:write",
    "loyalty.issue": "loyalty:write",
    "payments.take": "payments:write",
    "payments.refund": "payments:write",
    "drawer.operate": "drawer:write",
    "drawer.read": "drawer:read",
}
TERMINAL_DEFAULT_SCOPES = [
    "sales:write",
    "returns:write",
    "catalog:read",
    "stock:read",
    "orders:read",
    "pricing:read",
    "loyalty:read",
    "loyalty:write",
    "payments:write",
    "drawer:write",
    "drawer:read",
]


@dataclass(frozen=True)
class Actor:
    """Who acts. `roles` maps a role to the store ids it covers (None = all)."""

    label: str
    user_id: int | None = None
    roles: dict[Role, frozenset[int] | None] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    api_key_prefix: str | None = None
    channel_id: int | None = None
    terminal_id: int | None = None
    store_id: int | None = None  # a terminal's own store
    is_system: bool = False

    @property
    def idempotency_scope(self) -> str:
        if self.api_key_prefix:
            return f"key:{self.api_key_prefix}"
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return "system"

    def can(
        self, permission: str, store_id: int | None = None, *, company_wide: bool = False
    ) -> bool:
        """May the actor do `permission` in a store (store_id), anywhere
        (store_id None), or at a company-wide place such as a warehouse
        (company_wide: only roles over every store)?"""
        if self.is_system:
            return True
        if self.api_key_prefix:
            scope = SCOPES.get(permission)
            if scope is None or scope not in self.scopes:
                return False
            if company_wide:
                return self.store_id is None
            # A terminal key acts only for its own store.
            return store_id is None or self.store_id is None or store_id == self.store_id
        allowed = PERMISSIONS.get(permission, frozenset())
        for role, stores in self.roles.items():
            if company_wide:
                in_scope = stores is None
            else:
                in_scope = stores is None or store_id is None or store_id in stores
            if in_scope and (role == ADMIN or role in allowed):
                return True
        return False

    def store_ids(self, permission: str) -> frozenset[int] | None:
        """The stores in which the actor holds `permission` (None = all stores)."""
        if self.is_system:
            return None
        if self.api_key_prefix:
            if not self.can(permission):
                return frozenset()
            return frozenset({self.store_id}) if self.store_id else None
        result: set[int] = set()
        for role, stores in self.roles.items():
            if role == ADMIN or role in PERMISSIONS.get(permission, frozenset()):
                if stores is None:
                    return None
                result |= stores
        return frozenset(result)


SYSTEM = Actor(label="system", is_system=True)


def require(
    actor: Actor, permission: str, *, store_id: int | None = None, company_wide: bool = False
) -> None:
    if not actor.can(permission, store_id, company_wide=company_wide):
        if company_wide:
            where = " at company-wide locations (warehouses)"
        elif store_id is not None:
            where = f" in store #{store_id}"
        else:
            where = ""
        raise PermissionDenied(
            f"{actor.label} may not {permission}{where}. Ask a store manager or an "
            "administrator to grant the role for this store.",
            code="forbidden",
        )


def require_in(actor: Actor, permission: str, *, store_id: int | None) -> None:
    """Check a permission at a place: a store's (store_id) or, when the place
    belongs to no store (a warehouse, transit), the company's — which only
    roles over every store may act on."""
    require(actor, permission, store_id=store_id, company_wide=store_id is None)


def actor_for_user(user: object) -> Actor:
    """Build the actor of a signed-in staff user from their memberships."""
    user_id = getattr(user, "pk", None)
    if user_id is None or not getattr(user, "is_active", False):
        return Actor(label="anonymous")
    roles: dict[Role, set[int] | None] = {}
    if getattr(user, "is_superuser", False):
        roles[ADMIN] = None
    for role, store_id in StaffMembership.objects.filter(user_id=user_id).values_list(
        "role", "store_id"
    ):
        if store_id is None:
            roles[role] = None
        elif roles.get(role, set()) is not None:
            roles.setdefault(role, set()).add(store_id)  # type: ignore[union-attr]
    frozen = {r: (None if s is None else frozenset(s)) for r, s in roles.items()}
    return Actor(label=f"user:{getattr(user, 'username', user_id)}", user_id=user_id, roles=frozen)


def _model_perms(app_models: Iterable[tuple[str, str]], verbs: Iterable[str]) -> list[str]:
    return [f"{app}.{verb}_{model}" for app, model in app_models for verb in verbs]


# Django admin permissions per role; the admin is the back office. Writes to
# documents (orders, receipts, journal, moves) never go through the admin.
ADMIN_PERMISSIONS: dict[Role, list[str]] = {
    CASHIER: _model_perms(
        [("catalog", "product"), ("catalog", "variant"), ("customers", "customer")], ["view"]
    )
    + _model_perms(
        [
            ("orders", "order"),
            ("orders", "orderline"),
            ("payments", "payment"),
            ("inventory", "stocklevel"),
            ("fulfilment", "shipment"),
            ("fulfilment", "shipmentline"),
            ("orders", "return"),
            ("orders", "returnline"),
        ],
        ["view"],
    ),
    STORE_MANAGER: _model_perms(
        [
            ("catalog", "product"),
            ("catalog", "variant"),
            ("orders", "order"),
            ("orders", "orderline"),
            ("inventory", "stocklevel"),
            ("inventory", "stockmove"),
            ("inventory", "location"),
            ("inventory", "reservation"),
            ("inventory", "transfer"),
            ("inventory", "transferline"),
            ("inventory", "stockcount"),
            ("inventory", "stockcountline"),
            ("inventory", "purchaseorder"),
            ("inventory", "purchaseorderline"),
            ("inventory", "supplier"),
            ("payments", "payment"),
            ("accounting", "receipt"),
            ("accounting", "journalentry"),
            ("accounting", "journalline"),
            ("core", "store"),
            ("core", "terminal"),
            ("core", "auditlog"),
            ("fulfilment", "shipment"),
            ("fulfilment", "shipmentline"),
            ("fulfilment", "routingdecision"),
            ("orders", "return"),
            ("orders", "returnline"),
        ],
        ["view"],
    )
    + _model_perms([("customers", "customer")], ["view", "add", "change"])
    + _model_perms([("inventory", "reorderrule")], ["view", "add", "change", "delete"]),
    WAREHOUSE: _model_perms(
        [
            ("catalog", "product"),
            ("catalog", "variant"),
            ("fulfilment", "shipment"),
            ("fulfilment", "shipmentline"),
            ("inventory", "stocklevel"),
            ("inventory", "stockmove"),
            ("inventory", "location"),
            ("inventory", "reservation"),
            ("inventory", "transfer"),
            ("inventory", "transferline"),
            ("inventory", "stockcount"),
            ("inventory", "stockcountline"),
            ("inventory", "purchaseorder"),
            ("inventory", "purchaseorderline"),
            ("inventory", "supplier"),
        ],
        ["view"],
    )
    + _model_perms([("inventory", "reorderrule")], ["view", "add", "change", "delete"]),
    ACCOUNTANT: _model_perms(
        [
            ("orders", "order"),
            ("orders", "orderline"),
            ("payments", "payment"),
            ("accounting", "receipt"),
            ("accounting", "journalentry"),
            ("accounting", "journalline"),
            ("accounting", "account"),
            ("inventory", "stockmove"),
            ("inventory", "skuvaluation"),
            ("orders", "return"),
            ("orders", "returnline"),
            ("inventory", "stockcount"),
            ("inventory", "stockcountline"),
            ("inventory", "purchaseorder"),
            ("inventory", "purchaseorderline"),
            ("inventory", "supplier"),
            ("core", "auditlog"),
            ("core", "numberseries"),
            ("core", "store"),
        ],
        ["view"],
    ),
}


# The ledgers, documents and rules added by loyalty, payments, accounting and
# pricing: store managers and accountants read them; cashiers see the
# customer-facing ones (gift cards, loyalty accounts, price lists).
_MONEY_RECORDS = [
    ("loyalty", "loyaltyaccount"),
    ("loyalty", "loyaltyentry"),
    ("loyalty", "giftcard"),
    ("loyalty", "giftcardentry"),
    ("loyalty", "storecreditaccount"),
    ("loyalty", "storecreditentry"),
    ("payments", "refund"),
    ("payments", "drawersession"),
    ("payments", "drawermovement"),
    ("payments", "zreport"),
    ("payments", "creditaccount"),
    ("accounting", "invoice"),
    ("accounting", "creditnote"),
    ("accounting", "closing"),
]
_PRICING_RULES = [
    ("pricing", "pricelist"),
    ("pricing", "pricelistentry"),
    ("pricing", "campaign"),
    ("pricing", "sourcecode"),
    ("pricing", "promotion"),
    ("pricing", "coupon"),
    ("pricing", "couponredemption"),
    ("loyalty", "loyaltyprogram"),
    ("loyalty", "earningrule"),
    ("customers", "customergroup"),
]
ADMIN_PERMISSIONS[CASHIER] += _model_perms(
    [
        ("loyalty", "loyaltyaccount"),
        ("loyalty", "giftcard"),
        ("pricing", "promotion"),
        ("pricing", "pricelist"),
    ],
    ["view"],
)
ADMIN_PERMISSIONS[STORE_MANAGER] += _model_perms(_MONEY_RECORDS + _PRICING_RULES, ["view"])
ADMIN_PERMISSIONS[ACCOUNTANT] += _model_perms(
    [
        *_MONEY_RECORDS,
        *_PRICING_RULES,
        ("payments", "webhookevent"),
        ("accounting", "regionaltaxrate"),
    ],
    ["view"],
)


def role_admin_permissions(role: Role) -> set[str]:
    """Django admin permissions ("app.codename") a role grants."""
    return set(ADMIN_PERMISSIONS.get(role, ()))
