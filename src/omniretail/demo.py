"""`omni demo`: Maison Lumière, a clothing and home-goods retailer in France.

One company, a warehouse, two stores with a till each, a web shop, ~200
products (~900 SKUs) with in-store barcodes, opening stock spread over the
warehouse and the stores, a few customers, a login per role and a handful of
cash sales. Everything goes through the real services (audit log, receipt
series, stock ledger, books), and every record is looked up by its natural key
first, so a second run changes nothing.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from omniretail.catalog.domain import barcode_with_check_digit
from omniretail.catalog.models import Category, Product, TaxClass, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.channels.pos.till import cashier_pin_set
from omniretail.core.access import (
    ACCOUNTANT,
    ADMIN,
    CASHIER,
    STORE_MANAGER,
    SYSTEM,
    WAREHOUSE,
)
from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import ApiKey, Channel, Company, StaffMembership, Store, Terminal
from omniretail.core.services import (
    channel_create,
    membership_grant,
    store_create,
    terminal_create,
)
from omniretail.customers.models import Customer
from omniretail.demo_shop import shop_setup
from omniretail.demo_stock import (
    kit_ensure,
    reorder_rules_ensure,
    stock_policies_ensure,
    suppliers_ensure,
)
from omniretail.inventory.models import ChannelLocation, Location, StockMove
from omniretail.inventory.services import ReceiveLine, stock_receive, stock_relocate
from omniretail.loyalty.models import EarningRule, LoyaltyProgram
from omniretail.payments.drawers import drawer_open
from omniretail.payments.models import DrawerSession

# --- The retailer -------------------------------------------------------------

COMPANY_CODE = "maison-lumiere"
COMPANY_NAME = "Maison Lumière"
OWN_BRAND = "Maison Lumière"
DEMO_PASSWORD = "demo"
DEMO_PIN = "1234"


@dataclass(frozen=True)
class StoreSpec:
    code: str
    name: str
    city: str
    address: str


STORES = (
    StoreSpec(
        "paris", "Maison Lumière Marais", "Paris", "12 rue des Francs-Bourgeois, 75003 Paris"
    ),
    StoreSpec("lyon", "Maison Lumière Presqu'île", "Lyon", "24 rue Mercière, 69002 Lyon"),
)
WAREHOUSE_CODE, WAREHOUSE_NAME = "wh-main", "Main warehouse (Rungis)"
WEB_CODE, WEB_NAME = "web", "maison-lumiere.example web shop"
PHONE_CODE, PHONE_NAME = "phone", "Phone orders (customer service)"
# Where each channel sells from: (location code, priority, units kept back).
# The web shop ships from the warehouse first, then from the stores while
# keeping the last 2 units of each SKU for walk-in customers.
CHANNEL_SOURCES = {
    WEB_CODE: [(WAREHOUSE_CODE, 1, 0), ("st-paris", 2, 2), ("st-lyon", 3, 2)],
    PHONE_CODE: [(WAREHOUSE_CODE, 1, 0), ("st-paris", 2, 2), ("st-lyon", 3, 2)],
    "pos-paris": [("st-paris", 1, 0)],
    "pos-lyon": [("st-lyon", 1, 0)],
}

TAX_CLASSES = {  # code: (name, rate); French VAT
    "standard": ("Standard rate 20 %", Decimal("0.2000")),
    "reduced": ("Reduced rate 5.5 % (books, food)", Decimal("0.0550")),
}

CATEGORIES = (  # (code, name, parent code); parents come first
    ("clothing", "Clothing", None),
    ("tops", "Shirts & tops", "clothing"),
    ("knitwear", "Knitwear", "clothing"),
    ("bottoms", "Trousers & skirts", "clothing"),
    ("dresses", "Dresses", "clothing"),
    ("outerwear", "Jackets & coats", "clothing"),
    ("nightwear", "Nightwear", "clothing"),
    ("accessories", "Accessories", None),
    ("home", "Home", None),
    ("bed-bath", "Bed & bath", "home"),
    ("table", "Table & kitchen", "home"),
    ("decor", "Decoration", "home"),
    ("candles", "Candles", "home"),
    ("books", "Books", None),
    ("pantry", "Épicerie", None),
)

# SKU codes are built from these short codes: MATERIAL-TYPE[-STYLE][-COLOUR][-SIZE].
MATERIALS = {
    "Linen": "LIN", "Poplin": "POP", "Oxford": "OXF", "Chambray": "CHB", "Silk": "SLK",
    "Viscose": "VIS", "Organic Cotton": "OCT", "Pima Cotton": "PIM", "Cotton": "COT",
    "Merino": "MER", "Cashmere": "CSH", "Alpaca": "ALP", "Wool": "WOL", "Corduroy": "CRD",
    "Twill": "TWL", "Denim": "DNM", "Canvas": "CNV", "Jersey": "JRS", "Leather": "LTH",
    "Suede": "SUE", "Percale": "PRC", "Sateen": "SAT", "Terry": "TRY", "Waffle": "WAF",
    "Velvet": "VLV", "Stoneware": "STW", "Porcelain": "PRL", "Enamel": "ENM", "Glass": "GLS",
    "Recycled Glass": "RGL", "Ceramic": "CER", "Soy Wax": "SOY", "Beeswax": "BEE",
    "Rapeseed Wax": "RAP", "Rattan": "RAT", "Seagrass": "SEA", "Jute": "JUT", "Oak": "OAK",
    "Walnut": "WAL", "Brass": "BRS",
    # For books and food the "material" is the subject or the flavour.
    "Provençal": "PRV", "Bistro": "BIS", "Pâtisserie": "PAT", "Market": "MKT",
    "Seasonal": "SSN", "Apricot": "APR", "Fig": "FIG", "Strawberry": "STR",
    "Bitter Orange": "BOR", "Earl Grey": "EGR", "Jasmine": "JAS", "Rooibos": "ROO",
    "Breakfast": "BRK", "Lavender": "LAV", "Acacia": "ACA", "Chestnut": "CHE",
}  # fmt: skip
STYLES = {
    "": "", "Relaxed": "RLX", "Band-Collar": "BND", "Wrap": "WRP", "Puff-Sleeve": "PUF",
    "Striped": "STP", "Pocket": "PKT", "Crew-Neck": "CRW", "V-Neck": "VNK",
    "Cable-Knit": "CBL", "Cropped": "CRP", "Wide-Leg": "WDL", "Pleated": "PLT",
    "Straight": "STG", "Slim": "SLM", "Midi": "MID", "Chore": "CHR", "Long": "LNG",
    "Belted": "BLT", "Fringed": "FRG", "Ribbed": "RIB", "Market": "MKT", "Braided": "BRD",
    "Gingham": "GNG", "Speckled": "SPK", "Glazed": "GLZ", "Fluted": "FLT", "Bud": "BUD",
    "Tall": "TLL", "Herringbone": "HRB", "Lidded": "LID", "Fig": "FIG", "Cedar": "CED",
    "Orange Blossom": "ORB", "Lavender": "LAV", "Amber": "AMB",
}  # fmt: skip
COLOURS = {
    "WHT": "White", "ECR": "Ecru", "SND": "Sand", "NVY": "Navy", "BLK": "Black",
    "SGE": "Sage", "TER": "Terracotta", "SKY": "Sky blue", "OLV": "Olive", "CML": "Camel",
    "GRY": "Grey", "RSE": "Dusty rose", "OCH": "Ochre", "CHC": "Charcoal", "BRG": "Burgundy",
    "IND": "Indigo", "NAT": "Natural", "CLY": "Clay",
}  # fmt: skip
CLOTHES = ("XS", "S", "M", "L", "XL")
WINTER_MATERIALS = {"Merino", "Cashmere", "Alpaca", "Wool", "Corduroy", "Velvet", "Chestnut"}
SUMMER_MATERIALS = {"Linen", "Poplin", "Chambray", "Silk", "Viscose", "Seagrass", "Rattan"}


@dataclass(frozen=True)
class Line:
    """A kind of article; its products are every style and material."""

    noun: str
    code: str
    category: str
    price: tuple[int, int]  # whole euros, tax included; shelf prices end in .90
    materials: tuple[str, ...]
    styles: tuple[str, ...] = ("",)
    sizes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()  # the palette; each product takes 1..max_colours
    max_colours: int = 2
    priced_by_size: bool = False  # a 240x220 duvet cover costs more than a 140x200 one
    tax: str = "standard"
    brand: str = OWN_BRAND
    depth: int = 3  # typical units of one SKU on a store's shelf


LINES = (
    Line("Shirt", "SHIRT", "tops", (49, 89), ("Linen", "Poplin", "Oxford", "Chambray"),
         ("", "Relaxed", "Band-Collar"), CLOTHES, ("WHT", "SKY", "ECR", "NVY", "SGE")),
    Line("Blouse", "BLOUSE", "tops", (45, 85), ("Silk", "Linen", "Viscose"),
         ("", "Wrap", "Puff-Sleeve"), CLOTHES, ("ECR", "RSE", "BLK", "TER")),
    Line("T-Shirt", "TEE", "tops", (19, 35), ("Organic Cotton", "Linen", "Pima Cotton"),
         ("", "Striped", "Pocket"), CLOTHES, ("WHT", "NVY", "BLK", "OCH", "SND"), depth=5),
    Line("Sweater", "SWTR", "knitwear", (69, 149), ("Merino", "Cashmere", "Cotton", "Alpaca"),
         ("", "Crew-Neck", "V-Neck", "Cable-Knit"), CLOTHES,
         ("ECR", "NVY", "CML", "GRY", "BRG", "OLV")),
    Line("Cardigan", "CARD", "knitwear", (79, 139), ("Merino", "Cotton", "Alpaca"),
         ("", "Cropped"), CLOTHES, ("ECR", "CML", "CHC", "SGE")),
    Line("Trousers", "TRS", "bottoms", (59, 119), ("Linen", "Wool", "Corduroy", "Twill"),
         ("", "Wide-Leg", "Pleated"), CLOTHES, ("SND", "NVY", "BLK", "OLV", "TER")),
    Line("Jeans", "JEANS", "bottoms", (69, 109), ("Denim",),
         ("Straight", "Slim", "Wide-Leg", "Cropped"), CLOTHES, ("IND", "BLK", "ECR")),
    Line("Skirt", "SKIRT", "bottoms", (49, 95), ("Linen", "Silk", "Corduroy", "Wool"),
         ("", "Midi", "Pleated"), CLOTHES, ("BLK", "CML", "TER", "NVY", "SGE")),
    Line("Dress", "DRESS", "dresses", (79, 159), ("Linen", "Silk", "Poplin", "Jersey"),
         ("", "Midi", "Wrap"), CLOTHES, ("BLK", "NVY", "TER", "RSE", "SGE", "ECR")),
    Line("Jacket", "JKT", "outerwear", (119, 249), ("Wool", "Linen", "Corduroy", "Canvas"),
         ("", "Chore", "Cropped"), CLOTHES, ("NVY", "OLV", "CML", "CHC", "ECR"), depth=2),
    Line("Coat", "COAT", "outerwear", (189, 349), ("Wool", "Cashmere"),
         ("", "Long", "Belted"), CLOTHES, ("CML", "CHC", "NVY", "BLK"), depth=2),
    Line("Pyjama Set", "PYJ", "nightwear", (59, 99), ("Linen", "Cotton", "Silk"),
         ("", "Striped"), CLOTHES, ("SKY", "ECR", "RSE", "NVY")),
    Line("Scarf", "SCARF", "accessories", (29, 89), ("Wool", "Cashmere", "Linen", "Silk"),
         ("", "Fringed"), (), ("CML", "GRY", "BRG", "NVY", "OCH"), max_colours=3, depth=4),
    Line("Beanie", "BEANIE", "accessories", (25, 49), ("Merino", "Cashmere", "Alpaca"),
         ("", "Ribbed"), (), ("ECR", "CHC", "OCH", "BRG", "NVY"), max_colours=3, depth=4),
    Line("Tote Bag", "TOTE", "accessories", (25, 59), ("Canvas", "Leather", "Linen"),
         ("", "Market"), (), ("NAT", "BLK", "CML")),
    Line("Belt", "BELT", "accessories", (35, 69), ("Leather", "Suede"),
         ("", "Braided"), ("80", "90", "100"), ("BLK", "CML")),
    Line("Duvet Cover", "DUVET", "bed-bath", (89, 149), ("Linen", "Percale", "Sateen"),
         ("", "Striped"), ("140x200", "240x220"), ("WHT", "SND", "SGE", "TER", "CLY"),
         priced_by_size=True),
    Line("Pillowcase", "PILLOW", "bed-bath", (19, 29), ("Linen", "Percale", "Sateen"),
         ("",), ("50x75", "65x65"), ("WHT", "SND", "SGE", "TER", "CLY"), priced_by_size=True,
         depth=6),
    Line("Bath Towel", "TOWEL", "bed-bath", (19, 35), ("Terry", "Waffle", "Linen"),
         ("", "Striped"), ("50x100", "70x140"), ("WHT", "SND", "SGE", "SKY"),
         priced_by_size=True, depth=6),
    Line("Tablecloth", "TCLOTH", "table", (49, 89), ("Linen", "Cotton"),
         ("", "Striped", "Gingham"), ("150x150", "150x250"), ("WHT", "NAT", "TER", "SKY"),
         priced_by_size=True),
    Line("Napkin Set", "NAPKIN", "table", (19, 39), ("Linen", "Cotton"),
         ("", "Gingham"), (), ("WHT", "NAT", "TER", "SGE", "SKY"), max_colours=3, depth=5),
    Line("Mug", "MUG", "table", (12, 22), ("Stoneware", "Porcelain", "Enamel"),
         ("", "Speckled"), (), ("WHT", "SGE", "CLY", "NVY", "OCH"), max_colours=3, depth=8),
    Line("Dinner Plate", "PLATE", "table", (14, 28), ("Stoneware", "Porcelain", "Ceramic"),
         ("", "Glazed"), (), ("WHT", "SGE", "CLY", "SND"), max_colours=3, depth=10),
    Line("Bowl", "BOWL", "table", (12, 26), ("Stoneware", "Porcelain", "Ceramic"),
         ("", "Speckled"), (), ("WHT", "SGE", "CLY", "SND"), max_colours=3, depth=10),
    Line("Carafe", "CARAFE", "table", (24, 45), ("Glass", "Recycled Glass"),
         ("", "Fluted"), depth=4),
    Line("Vase", "VASE", "decor", (29, 89), ("Ceramic", "Glass", "Stoneware"),
         ("", "Bud", "Tall"), (), ("WHT", "CLY", "SGE", "OCH")),
    Line("Candle", "CANDLE", "candles", (24, 42), ("Soy Wax", "Beeswax", "Rapeseed Wax"),
         ("Fig", "Cedar", "Orange Blossom", "Lavender", "Amber"), ("190 g", "420 g"),
         priced_by_size=True, depth=6),
    Line("Throw", "THROW", "decor", (79, 189), ("Wool", "Cashmere", "Linen", "Cotton"),
         ("", "Herringbone", "Fringed"), (), ("ECR", "CML", "GRY", "SGE", "TER"), depth=2),
    Line("Cushion Cover", "CUSH", "decor", (25, 45), ("Linen", "Velvet", "Cotton"),
         ("", "Striped"), ("45x45", "30x50"), ("ECR", "TER", "SGE", "OCH", "NVY"),
         priced_by_size=True, depth=4),
    Line("Basket", "BASKET", "decor", (29, 59), ("Rattan", "Seagrass", "Jute"),
         ("", "Lidded"), ("S", "M", "L"), priced_by_size=True),
    Line("Picture Frame", "FRAME", "decor", (19, 35), ("Oak", "Walnut", "Brass"),
         ("",), ("13x18", "21x30", "30x40"), priced_by_size=True, depth=4),
    Line("Cookbook", "BOOK", "books", (18, 45),
         ("Provençal", "Bistro", "Pâtisserie", "Market", "Seasonal"),
         tax="reduced", brand="Éditions du Marais", depth=4),
    Line("Jam", "JAM", "pantry", (6, 11), ("Apricot", "Fig", "Strawberry", "Bitter Orange"),
         tax="reduced", brand="Épicerie Lumière", depth=12),
    Line("Tea", "TEA", "pantry", (9, 16), ("Earl Grey", "Jasmine", "Rooibos", "Breakfast"),
         tax="reduced", brand="Épicerie Lumière", depth=10),
    Line("Honey", "HONEY", "pantry", (9, 15), ("Lavender", "Acacia", "Chestnut"),
         tax="reduced", brand="Épicerie Lumière", depth=10),
)  # fmt: skip

CUSTOMERS = (  # first name, last name; phones in ARCEP's range reserved for fiction
    ("Camille", "Durand"),
    ("Lucas", "Martin"),
    ("Chloé", "Bernard"),
    ("Hugo", "Lefèvre"),
    ("Léa", "Moreau"),
    ("Louis", "Girard"),
    ("Manon", "Fontaine"),
    ("Jules", "Mercier"),
)

USERS = (  # username, first name, last name, role, store code (None = every store)
    ("admin", "Claire", "Dubois", ADMIN, None),
    ("manager.paris", "Antoine", "Roux", STORE_MANAGER, "paris"),
    ("cashier.paris", "Inès", "Garnier", CASHIER, "paris"),
    ("cashier.lyon", "Théo", "Blanc", CASHIER, "lyon"),
    ("warehouse", "Karim", "Benali", WAREHOUSE, None),
    ("accountant", "Sophie", "Laurent", ACCOUNTANT, None),
)

SALES = (  # store code, customer (index in CUSTOMERS) or None, number of lines
    ("paris", 0, 2),
    ("paris", None, 1),
    ("lyon", 2, 3),
    ("lyon", None, 1),
)
# Fixed, so a second run sends the same client UUIDs and the till replays the sales.
SALES_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://maison-lumiere.example/demo/sales")

# stock_moves_post filters one OR term per (SKU, location) and SQLite refuses
# expressions deeper than 1000 terms, so stock goes in by batches.
STOCK_BATCH = 200


# --- The catalog plan (pure: no database) ---------------------------------------


@dataclass(frozen=True)
class SkuPlan:
    spec: VariantSpec
    unit_cost: Decimal
    warehouse: int  # units kept at the warehouse
    stores: dict[str, int]  # units sent to each store

    @property
    def received(self) -> int:
        return self.warehouse + sum(self.stores.values())


@dataclass(frozen=True)
class ProductPlan:
    code: str
    name: str
    line: Line
    description: str
    skus: list[SkuPlan]


@dataclass(frozen=True)
class Candidate:
    number: int  # position in LINES order: fixes the barcodes whatever the seed
    line: Line
    style: str
    material: str


def catalog_candidates() -> list[Candidate]:
    """Every product the demo catalog can hold, in table order."""
    combos = [
        (line, style, material)
        for line in LINES
        for style in line.styles
        for material in line.materials
    ]
    return [Candidate(n, line, style, mat) for n, (line, style, mat) in enumerate(combos, 1)]


def catalog_plan(*, products: int, seed: int) -> list[ProductPlan]:
    """`products` products picked and described deterministically from `seed`.
    The first products of a plan do not depend on how many are asked for."""
    candidates = catalog_candidates()
    random.Random(seed).shuffle(candidates)  # noqa: S311 - demo data, not secrets
    return [_product_plan(c, seed) for c in candidates[:products]]


def _shelf_price(euros: Decimal) -> Decimal:
    return Decimal(round(euros)) - Decimal("0.10")


def _product_plan(candidate: Candidate, seed: int) -> ProductPlan:
    line, style, material = candidate.line, candidate.style, candidate.material
    name = " ".join(part for part in (style, material, line.noun) if part)
    code = slugify(name)
    rng = random.Random(f"{seed}:{code}")  # noqa: S311 - demo data, not secrets
    base = Decimal(rng.randint(*line.price))
    cost_share = Decimal(rng.randint(38, 48)) / 100  # of the net price
    rate = TAX_CLASSES[line.tax][1]
    colours = [""]
    if line.colours:
        how_many = rng.randint(1, min(line.max_colours, len(line.colours)))
        colours = rng.sample(line.colours, how_many)
    skus: list[SkuPlan] = []
    for colour in colours:
        for step, size in enumerate(line.sizes or [""]):
            size_factor = 1 + Decimal("0.35") * step if line.priced_by_size else Decimal(1)
            price = _shelf_price(base * size_factor)
            parts = [MATERIALS[material], line.code, STYLES[style], colour, size]
            sku = "-".join(p.upper().replace(" ", "") for p in parts if p)
            attributes = {"colour": COLOURS[colour]} if colour else {}
            if size:
                attributes["size"] = size
            barcode = barcode_with_check_digit(f"21{candidate.number:06d}{len(skus) + 1:04d}")
            spec = VariantSpec(
                sku=sku,
                name=" / ".join(attributes.values()) or "Standard",
                price=price,
                barcode=barcode,
                attributes=attributes,
            )
            unit_cost = (price / (1 + rate) * cost_share).quantize(Decimal("0.01"))
            # The flagship (the first store) carries every SKU; the others a choice.
            stores = {
                store.code: rng.randint(0 if n else 1, 2 * line.depth)
                for n, store in enumerate(STORES)
            }
            warehouse = rng.randint(line.depth, 4 * line.depth)
            skus.append(SkuPlan(spec, unit_cost, warehouse, stores))
    if material in WINTER_MATERIALS:
        season = "autumn–winter"
    elif material in SUMMER_MATERIALS:
        season = "spring–summer"
    else:
        season = "all-year"
    description = f"{name} from the {line.brand} {season} collection."
    return ProductPlan(code=code, name=name, line=line, description=description, skus=skus)


# --- Loading: each step looks up natural keys first --------------------------------


@dataclass
class Tally:
    """What a run created and what was already there, per kind of record."""

    rows: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, *, created: int = 0, existing: int = 0) -> None:
        row = self.rows.setdefault(what, [0, 0])
        row[0] += created
        row[1] += existing

    def lines(self) -> list[str]:
        out = [f"  {'':<22}{'created':>9}{'already there':>15}"]
        out += [f"  {what:<22}{new:>9}{old:>15}" for what, (new, old) in self.rows.items()]
        return out


def company_ensure(tally: Tally) -> Company:
    company, created = Company.objects.get_or_create(
        code=COMPANY_CODE,
        defaults={
            "name": COMPANY_NAME,
            "currency": "EUR",
            "country": "FR",
            "prices_include_tax": True,
        },
    )
    tally.add("company", created=int(created), existing=int(not created))
    return company


def tax_classes_ensure(tally: Tally) -> dict[str, TaxClass]:
    result = {}
    for code, (name, rate) in TAX_CLASSES.items():
        tax_class, created = TaxClass.objects.get_or_create(
            code=code, defaults={"name": name, "rate": rate}
        )
        tally.add("tax classes", created=int(created), existing=int(not created))
        result[code] = tax_class
    return result


def categories_ensure(tally: Tally) -> dict[str, Category]:
    result: dict[str, Category] = {}
    for code, name, parent in CATEGORIES:
        category, created = Category.objects.get_or_create(
            code=code, defaults={"name": name, "parent": result.get(parent or "")}
        )
        tally.add("categories", created=int(created), existing=int(not created))
        result[code] = category
    return result


def stores_ensure(company: Company, tally: Tally) -> dict[str, Store]:
    existing = {s.code: s for s in Store.objects.filter(code__in=[s.code for s in STORES])}
    for spec in STORES:
        if spec.code not in existing:
            existing[spec.code] = store_create(
                company=company, code=spec.code, name=spec.name, address=spec.address, actor=SYSTEM
            )
            tally.add("stores", created=1)
        else:
            tally.add("stores", existing=1)
    return existing


def channels_ensure(company: Company, stores: dict[str, Store], tally: Tally) -> dict[str, Channel]:
    wanted: list[tuple[str, str, str, Store | None]] = [
        (f"pos-{s.code}", f"POS {s.city}", Channel.Kind.POS, stores[s.code]) for s in STORES
    ]
    wanted.append((WEB_CODE, WEB_NAME, Channel.Kind.WEB, None))
    wanted.append((PHONE_CODE, PHONE_NAME, Channel.Kind.PHONE, None))
    existing = {c.code: c for c in Channel.objects.filter(code__in=[w[0] for w in wanted])}
    for code, name, kind, store in wanted:
        if code not in existing:
            existing[code] = channel_create(
                company=company, code=code, name=name, kind=kind, store=store, actor=SYSTEM
            )
            tally.add("channels", created=1)
        else:
            tally.add("channels", existing=1)
    return existing


def terminals_ensure(
    stores: dict[str, Store], channels: dict[str, Channel], tally: Tally
) -> tuple[dict[str, Terminal], list[tuple[str, str]]]:
    """One till per store, each with a terminal API key. A key's token is
    shown only once, so it is returned only when issued by this run."""
    terminals: dict[str, Terminal] = {}
    tokens: list[tuple[str, str]] = []
    for spec in STORES:
        code = f"{spec.code}-1"
        terminal = Terminal.objects.filter(code=code).first()
        if terminal is None:
            terminal = terminal_create(
                store=stores[spec.code],
                channel=channels[f"pos-{spec.code}"],
                code=code,
                name=f"{spec.city} till 1",
                actor=SYSTEM,
            )
            tally.add("terminals", created=1)
        else:
            tally.add("terminals", existing=1)
        terminals[spec.code] = terminal
        if ApiKey.objects.filter(terminal=terminal, active=True).exists():
            tally.add("terminal API keys", existing=1)
        else:
            issued = api_key_issue(
                name=f"till {code}", channel=terminal.channel, terminal=terminal, actor=SYSTEM
            )
            tokens.append((code, issued.token))
            tally.add("terminal API keys", created=1)
    return terminals, tokens


def locations_ensure(stores: dict[str, Store], tally: Tally) -> dict[str, Location]:
    wanted: list[tuple[str, str, str, Store | None]] = [
        (WAREHOUSE_CODE, WAREHOUSE_NAME, Location.Kind.WAREHOUSE, None)
    ]
    wanted += [
        (f"st-{s.code}", f"{s.name} shop floor", Location.Kind.STORE, stores[s.code])
        for s in STORES
    ]
    result = {}
    for code, name, kind, store in wanted:
        location, created = Location.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "store": store}
        )
        tally.add("stock locations", created=int(created), existing=int(not created))
        result[code] = location
    return result


def channel_sources_ensure(
    channels: dict[str, Channel], locations: dict[str, Location], tally: Tally
) -> None:
    for channel_code, sources in CHANNEL_SOURCES.items():
        for location_code, priority, buffer in sources:
            _, created = ChannelLocation.objects.get_or_create(
                channel=channels[channel_code],
                location=locations[location_code],
                defaults={"priority": priority, "safety_buffer": buffer},
            )
            tally.add("channel sources", created=int(created), existing=int(not created))


def products_ensure(
    plan: list[ProductPlan],
    tax_classes: dict[str, TaxClass],
    categories: dict[str, Category],
    tally: Tally,
) -> dict[str, int]:
    """Create the planned products that are missing; returns SKU → variant id
    for every planned SKU now in the catalog."""
    codes = [p.code for p in plan]
    existing = set(Product.objects.filter(code__in=codes).values_list("code", flat=True))
    for product in plan:
        if product.code in existing:
            continue
        product_create(
            code=product.code,
            name=product.name,
            tax_class=tax_classes[product.line.tax],
            variants=[s.spec for s in product.skus],
            category=categories[product.line.category],
            brand=product.line.brand,
            description=product.description,
            actor=SYSTEM,
        )
    fresh = [p for p in plan if p.code not in existing]
    old_variants = Variant.objects.filter(product__code__in=existing).count()
    tally.add("products", created=len(fresh), existing=len(existing))
    tally.add("SKUs", created=sum(len(p.skus) for p in fresh), existing=old_variants)
    planned = {s.spec.sku for p in plan for s in p.skus}
    found = Variant.objects.filter(product__code__in=codes).values_list("sku", "pk")
    return {sku: pk for sku, pk in found if sku in planned}


def _batches(items: Sequence[SkuPlan], size: int) -> Iterator[Sequence[SkuPlan]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stock_ensure(
    plan: list[ProductPlan], sku_ids: dict[str, int], locations: dict[str, Location], tally: Tally
) -> None:
    """Receive opening stock into the warehouse and send the stores their
    share, only for SKUs that have never moved (so a rerun adds nothing)."""
    moved = set(
        StockMove.objects.filter(sku_id__in=sku_ids.values())
        .order_by()
        .values_list("sku_id", flat=True)
        .distinct()
    )
    fresh = [s for p in plan for s in p.skus if s.spec.sku in sku_ids]
    fresh = [s for s in fresh if sku_ids[s.spec.sku] not in moved]
    tally.add("SKUs with stock", created=len(fresh), existing=len(moved))
    warehouse = locations[WAREHOUSE_CODE]
    received = sent = 0
    for batch in _batches(fresh, STOCK_BATCH):
        received += stock_receive(
            location=warehouse,
            lines=[ReceiveLine(sku_ids[s.spec.sku], s.received, s.unit_cost) for s in batch],
            actor=SYSTEM,
            reference="DEMO-OPENING",
        )
        for store in STORES:
            lines = [
                ReceiveLine(sku_ids[s.spec.sku], s.stores[store.code])
                for s in batch
                if s.stores[store.code] > 0
            ]
            if lines:
                sent += stock_relocate(
                    from_location=warehouse,
                    to_location=locations[f"st-{store.code}"],
                    lines=lines,
                    actor=SYSTEM,
                    reason=f"opening stock for {store.name}",
                )
    if received:
        tally.notes.append(
            f"opening stock: {received} units received into {WAREHOUSE_CODE}, "
            f"{sent} of them sent on to the stores"
        )


def _customer_email(first: str, last: str) -> str:
    return f"{slugify(first)}.{slugify(last)}@example.com"


def _customers_by_email(emails: list[str]) -> dict[str, Customer]:
    found = Customer.objects.annotate(email_ci=Lower("email")).filter(email_ci__in=emails)
    return {(c.email or "").lower(): c for c in found}


def customers_ensure(tally: Tally) -> list[Customer]:
    emails = [_customer_email(first, last) for first, last in CUSTOMERS]
    existing = _customers_by_email(emails)
    missing = [
        Customer(
            first_name=first,
            last_name=last,
            email=email,
            phone=f"+33 6 39 98 00 {i:02d}",
            loyalty_card=barcode_with_check_digit(f"29{i:010d}"),
        )
        for i, ((first, last), email) in enumerate(zip(CUSTOMERS, emails, strict=True), 1)
        if email not in existing
    ]
    Customer.objects.bulk_create(missing)
    tally.add("customers", created=len(missing), existing=len(existing))
    by_email = _customers_by_email(emails)
    return [by_email[email] for email in emails]


def users_ensure(stores: dict[str, Store], tally: Tally) -> None:
    """A staff login per role; the role's back-office permissions follow from
    its membership. The password is set only when the user is created: an
    existing user keeps theirs."""
    user_model = get_user_model()
    usernames = [u[0] for u in USERS]
    existing = {u.username: u for u in user_model.objects.filter(username__in=usernames)}
    for username, first, last, role, store_code in USERS:
        user = existing.get(username)
        if user is None:
            user = user_model.objects.create_user(
                username=username,
                email=f"{username}@maison-lumiere.example",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                is_staff=True,
                is_superuser=role == ADMIN,
            )
            if role in (CASHIER, STORE_MANAGER):  # they sign in at the till by PIN
                cashier_pin_set(user_id=user.pk, pin=DEMO_PIN, actor=SYSTEM)
            tally.add("users", created=1)
        else:
            tally.add("users", existing=1)
        store = stores[store_code] if store_code else None
        if StaffMembership.objects.filter(user=user, role=role, store=store).exists():
            tally.add("staff memberships", existing=1)
        else:
            membership_grant(user=user, role=role, store=store, reason="demo login")
            tally.add("staff memberships", created=1)


def loyalty_ensure(company: Company, tally: Tally) -> None:
    """The loyalty club: 1 point per euro of net sales, 100 points pay 1.00,
    points expire after two years."""
    program, created = LoyaltyProgram.objects.get_or_create(
        currency=company.currency,
        defaults={
            "code": "club",
            "name": f"{COMPANY_NAME} club",
            "point_value": Decimal("0.01"),
            "expiry_days": 730,
        },
    )
    if created:
        EarningRule.objects.create(program=program, points_per_unit=Decimal("1"))
    tally.add("loyalty programmes", created=int(created), existing=int(not created))


def drawers_ensure(terminals: dict[str, Terminal], tally: Tally) -> None:
    """Each till's cash drawer open with a 150.00 float, as at opening time."""
    for terminal in terminals.values():
        if DrawerSession.objects.filter(terminal=terminal, status="open").exists():
            tally.add("open cash drawers", existing=1)
            continue
        drawer_open(terminal=terminal, float_amount=Decimal("150.00"), actor=SYSTEM)
        tally.add("open cash drawers", created=1)


def sales_ensure(
    plan: list[ProductPlan],
    sku_ids: dict[str, int],
    terminals: dict[str, Terminal],
    customers: list[Customer],
    seed: int,
    tally: Tally,
) -> list[str]:
    """Ring up a few cash sales on the tills. Their client UUIDs are fixed, so
    a rerun replays them instead of selling again."""
    rng = random.Random(f"{seed}:sales")  # noqa: S311 - demo data, not secrets
    in_catalog = [s for p in plan for s in p.skus if s.spec.sku in sku_ids]
    prices = dict(Variant.objects.filter(pk__in=sku_ids.values()).values_list("sku", "price"))
    report: list[str] = []
    for i, (store_code, customer_no, n_lines) in enumerate(SALES, 1):
        on_shelf = [s for s in in_catalog if s.stores[store_code] > 0]
        if len(on_shelf) < n_lines:
            tally.notes.append(f"sale {i} skipped: too few products on the {store_code} shelf")
            continue
        picks = [s.spec.sku for s in rng.sample(on_shelf, n_lines)]
        quantities = {sku: 2 if prices[sku] < 20 else 1 for sku in picks}
        lines = [SaleLine(quantity=q, sku=sku) for sku, q in quantities.items()]
        due = sum((prices[sku] * q for sku, q in quantities.items()), Decimal(0))
        cash = Decimal((int(due) // 10 + 1) * 10)  # the customer hands over notes
        result = pos_sale_record(
            terminal=terminals[store_code],
            client_uuid=uuid.uuid5(SALES_NAMESPACE, f"sale-{i}"),
            lines=lines,
            tenders=[Tender("cash", cash)],
            actor=SYSTEM,
            customer_id=customers[customer_no].pk if customer_no is not None else None,
        )
        tally.add("POS sales", created=int(not result.replayed), existing=int(result.replayed))
        order = result.order
        who = str(customers[customer_no]) if customer_no is not None else "walk-in customer"
        report.append(
            f"  {result.receipt.full_number:<18}{order.total_gross:>9} {order.currency}"
            f"  {len(lines)} line(s), {who}{'  (replayed)' if result.replayed else ''}"
        )
    return report


# --- The command -------------------------------------------------------------------


def demo_load(*, products: int = 200, seed: int = 7) -> list[str]:
    """Load (or complete) the demo retailer and return the report to print.
    One transaction: a failure leaves the database as it was."""
    if products < 0:
        raise ValueError(f"products must be 0 or more (got {products}).")
    started = time.perf_counter()
    plan = catalog_plan(products=products, seed=seed)
    tally = Tally()
    if len(plan) < products:
        tally.notes.append(
            f"the demo catalog holds {len(plan)} distinct products; loaded all of them"
        )
    with transaction.atomic():
        company = company_ensure(tally)
        stores = stores_ensure(company, tally)
        channels = channels_ensure(company, stores, tally)
        terminals, tokens = terminals_ensure(stores, channels, tally)
        locations = locations_ensure(stores, tally)
        channel_sources_ensure(channels, locations, tally)
        users_ensure(stores, tally)
        customers = customers_ensure(tally)
        tax_classes = tax_classes_ensure(tally)
        categories = categories_ensure(tally)
        sku_ids = products_ensure(plan, tax_classes, categories, tally)
        stock_ensure(plan, sku_ids, locations, tally)
        suppliers = suppliers_ensure(tally)
        costs = {
            sku_ids[s.spec.sku]: s.unit_cost for p in plan for s in p.skus if s.spec.sku in sku_ids
        }
        reorder_rules_ensure(suppliers, locations[WAREHOUSE_CODE], costs, tally)
        kit_ensure(tax_classes, tally)
        stock_policies_ensure(timezone.localdate, tally)
        drawers_ensure(terminals, tally)
        loyalty_ensure(company, tally)
        tally.notes += shop_setup()
        sales = sales_ensure(plan, sku_ids, terminals, customers, seed, tally)
    elapsed = time.perf_counter() - started
    return _report(tally, tokens, sales, seed=seed, products=len(plan), elapsed=elapsed)


def _report(
    tally: Tally,
    tokens: list[tuple[str, str]],
    sales: list[str],
    *,
    seed: int,
    products: int,
    elapsed: float,
) -> list[str]:
    base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    lines = [f"{COMPANY_NAME} demo: {products} products, seed {seed}, in {elapsed:.1f} s", ""]
    lines += tally.lines()
    lines += [f"  note: {note}" for note in tally.notes]
    lines += ["", "Demo sales (cash, on the tills):", *(sales or ["  none"])]
    lines += [
        "",
        f"Back office  {base}/admin/  (orders {base}/backoffice/orders/, customers "
        f"{base}/backoffice/customers/, books {base}/backoffice/books/trial-balance/)",
        f"Till (POS)   {base}/pos/  (pair it with a terminal key below; cashier PIN 1234)",
        f"Web shop     {base}/shop/  (test card 4242 4242 4242 4242; 4000 0000 0000 0002 is "
        "declined; coupon WELCOME10)",
        f"API docs     {base}/api/docs",
        "",
    ]
    lines.append(
        f"Demo logins (the password is set only when a user is first created; cashiers and "
        f"managers sign in at the till with PIN {DEMO_PIN}):"
    )
    lines.append(f"  {'username':<16}{'password':<10}{'role':<15}store")
    for username, _, _, role, store_code in USERS:
        lines.append(f"  {username:<16}{DEMO_PASSWORD:<10}{role:<15}{store_code or 'all stores'}")
    lines.append("")
    if tokens:
        lines.append("Terminal API keys (shown this once: copy them into the tills now):")
        lines += [f"  {code:<10}{token}" for code, token in tokens]
    else:
        lines.append("Terminal API keys: issued by an earlier run (a token is shown only once).")
    return lines
