"""The till's JavaScript runs in Chromium against the server's Python: every
golden pricing vector gives the same result, and the device's fiscal hash of
a document equals core.fiscal.chain_hash of the same document."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from omniretail.channels.pos.offline import offline_document, offline_hash_check
from omniretail.core.fiscal import GENESIS_HASH, canonical_json, chain_hash

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VECTORS = sorted((Path(__file__).parents[2] / "src/omniretail/pricing/vectors").glob("*.json"))

RUN_VECTORS = """async (vectors) => {
  const { priceCart } = await import('/static/pos/pricing.js');
  const out = {};
  for (const v of vectors) {
    try { out[v.name] = priceCart(v.input); } catch (e) { out[v.name] = {error: String(e)}; }
  }
  return out;
}"""


def test_every_golden_vector_prices_the_same_in_the_browser(page):
    vectors = [json.loads(p.read_text()) | {"name": p.stem} for p in VECTORS]
    assert len(vectors) >= 61
    page.goto("/pos/")
    results = page.evaluate(RUN_VECTORS, vectors)
    mismatched = [v["name"] for v in vectors if results[v["name"]] != v["expected"]]
    assert mismatched == []
    # spot-check one exact figure so a vacuous comparison cannot pass
    assert results["amount_off_each_item"]["lines"][0]["gross"] == "9.00"


HASH_JS = """async ([previous, doc]) => {
  const { Dec } = await import('/static/pos/decimal.js');
  const { canonicalJson, chainHash } = await import('/static/pos/fiscal.js');
  const revive = (v) => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      if ('$dec' in v) return Dec.of(v.$dec);
      if ('$date' in v) return new Date(v.$date);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    }
    return v;
  };
  const fields = revive(doc);
  return { json: canonicalJson(fields), hash: await chainHash(previous, fields) };
}"""


def test_device_hash_equals_the_servers_chain_hash(page):
    when = dt.datetime(2025, 6, 6, 12, 30, 15, 123000, tzinfo=dt.UTC)
    python_doc = {
        "number": 42,
        "full_number": "R-P1T1-000042",
        "total": Decimal("10.50"),
        "zero": Decimal("0.00"),
        "big": Decimal("1E+2"),
        "issued_at": when,
        "text": 'Café "crème" \\ été\n\t✓ 𝄞',
        "none": None,
        "flag": True,
        "lines": [{"sku": "MUG", "qty": 2, "gross": Decimal("25.0")}],
        "Zeta": 1,
        "alpha": 2,
    }
    js_doc = {
        **python_doc,
        "total": {"$dec": "10.50"},
        "zero": {"$dec": "0.00"},
        "big": {"$dec": "1E+2"},
        "issued_at": {"$date": "2025-06-06T12:30:15.123Z"},
        "lines": [{"sku": "MUG", "qty": 2, "gross": {"$dec": "25.0"}}],
    }
    page.goto("/pos/")
    previous = "ab" * 32
    got = page.evaluate(HASH_JS, [previous, js_doc])
    assert got["json"] == canonical_json(python_doc)
    assert got["hash"] == chain_hash(previous, python_doc)


def test_offline_sale_document_is_checked_by_the_server_module(page):
    """The sale body the till queues offline carries a hash that
    channels/pos/offline.py recomputes from the body alone."""
    page.goto("/pos/")
    body = page.evaluate(
        """async () => {
          const { offlineDocument } = await import('/static/pos/sale.js');
          const { chainHash, GENESIS_HASH } = await import('/static/pos/fiscal.js');
          const body = {client_uuid: '8f0e6a52-7d4b-4f0e-9a51-2f1f7f3b1c11', cashier_id: 7,
            lines: [{barcode: '2000000000017', quantity: 2, discount_amount: '1.50'},
                    {sku: 'MUG', quantity: 1}],
            order_discount: '2.00', tenders: [{type: 'cash', amount: '50.00'}]};
          const soldAt = '2025-06-06T12:00:00.000Z';
          const doc = offlineDocument(body, {terminal: 'p1t1', number: 7,
            fullNumber: 'R-P1T1-000007', soldAt, totalGross: '41.30'});
          body.offline = {receipt_number: 7, previous_hash: GENESIS_HASH,
            hash: await chainHash(GENESIS_HASH, doc), sold_at: soldAt, total_gross: '41.30'};
          return body;
        }"""
    )
    assert offline_hash_check(body, terminal="p1t1", full_number="R-P1T1-000007") is None
    doc = offline_document(body, terminal="p1t1", full_number="R-P1T1-000007")
    assert doc["lines"][0] == {
        "sku": "2000000000017",
        "quantity": 2,
        "discount_amount": Decimal("1.50"),
    }
    assert body["offline"]["hash"] == chain_hash(GENESIS_HASH, doc)
    tampered = {**body, "tenders": [{"type": "cash", "amount": "5.00"}]}
    assert "altered" in (
        offline_hash_check(tampered, terminal="p1t1", full_number="R-P1T1-000007") or ""
    )
