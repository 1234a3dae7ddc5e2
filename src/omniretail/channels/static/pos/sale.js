// The sale being rung up: lines, staff discounts, customer, coupons; priced
// by the JS engine on the rules bundle; paid, then sent to the server or —
// when it is unreachable — numbered and chained on the device and queued.

import { api, ApiError, OfflineError } from "./api.js";
import { D, ZERO, allocate, dsum, quantumExp } from "./decimal.js";
import { chainHash } from "./fiscal.js";
import * as db from "./db.js";
import { priceCart } from "./pricing.js";

export function newUuid() {
  return crypto.randomUUID();
}

function nowIso() {
  return new Date().toISOString().replace("Z", "+00:00");
}

export class Sale {
  constructor(profile) {
    this.profile = profile;
    this.uuid = newUuid();
    this.lines = []; // {variant, quantity, discountPercent}
    this.orderDiscountPercent = D(0);
    this.customer = null;
    this.coupons = [];
    this.approval = null; // {manager_id, reason}
    this.priced = null;
  }

  qexp() {
    return quantumExp(this.profile.currency);
  }

  add(variant, quantity = 1) {
    const same = this.lines.find((l) => l.variant.id === variant.id && l.discountPercent.isZero());
    if (same) same.quantity += quantity;
    else this.lines.push({ variant, quantity, discountPercent: D(0) });
  }

  // Staff discounts as amounts: percent of each line, then the order
  // discount spread over the lines in proportion to what is left (the
  // server's rule: core.money allocate).
  manualDiscounts() {
    const q = this.qexp();
    const amounts = this.lines.map((l) => D(l.variant.price).mul(l.quantity).quantize(q, "half_up"));
    const lineOff = this.lines.map((l, i) => amounts[i].mul(l.discountPercent).div(100).quantize(q, "half_up"));
    const left = amounts.map((a, i) => a.sub(lineOff[i]));
    const orderOff = dsum(left).mul(this.orderDiscountPercent).div(100).quantize(q, "half_up");
    const shares = orderOff.isZero() ? left.map(() => ZERO) : allocate(orderOff, left, q);
    return { amounts, lineOff, orderOff, manual: lineOff.map((d, i) => d.add(shares[i])) };
  }

  discountPercentGiven() {
    const { amounts, manual } = this.manualDiscounts();
    const base = dsum(amounts);
    return base.isZero() ? D(0) : dsum(manual).mul(100).div(base);
  }

  price(rules) {
    if (!this.lines.length) {
      this.priced = null;
      return null;
    }
    const { manual } = this.manualDiscounts();
    const input = {
      lines: this.lines.map((l, i) => ({
        line_id: String(i + 1),
        sku: l.variant.sku,
        variant_id: l.variant.id,
        product_id: l.variant.product_id,
        tax_class: l.variant.tax_class,
        base_price: l.variant.price,
        quantity: l.quantity,
        category_ids: l.variant.category_ids,
        manual_discount: manual[i].toString(),
      })),
      context: {
        channel: this.profile.channel,
        store: this.profile.store,
        currency: this.profile.currency,
        now: nowIso(),
        customer_id: this.customer ? this.customer.id : null,
        customer_group: this.customer ? this.customer.group : null,
        coupon_codes: this.coupons,
      },
      rules: rules || { tax_mode: this.profile.prices_include_tax ? "included" : "excluded", tax_rates: {} },
    };
    // Tax rates of the catalog fill in what the bundle lacks.
    input.rules = { ...input.rules, tax_rates: { ...(input.rules.tax_rates || {}) } };
    for (const l of this.lines) {
      if (!(l.variant.tax_class in input.rules.tax_rates)) input.rules.tax_rates[l.variant.tax_class] = l.variant.tax_rate;
    }
    this.priced = priceCart(input);
    return this.priced;
  }

  total() {
    return this.priced ? D(this.priced.totals.gross) : D(0);
  }

  body(tenders, cashierId) {
    const { lineOff, orderOff } = this.manualDiscounts();
    const body = {
      client_uuid: this.uuid,
      lines: this.lines.map((l, i) => {
        const line = { quantity: l.quantity };
        if (l.variant.barcode) line.barcode = l.variant.barcode;
        else line.sku = l.variant.sku;
        if (!lineOff[i].isZero()) line.discount_amount = lineOff[i].toString();
        return line;
      }),
      tenders,
      cashier_id: cashierId,
    };
    if (!orderOff.isZero()) body.order_discount = orderOff.toString();
    if (this.customer) body.customer_id = this.customer.id;
    if (this.coupons.length) body.coupon_codes = this.coupons;
    if (this.approval) {
      body.discount_approved_by = this.approval.manager_id;
      body.discount_reason = this.approval.reason;
    }
    return body;
  }
}

// The document the device chains for an offline sale; the server rebuilds it
// with channels/pos/offline.py `offline_document` (keep the two in step).
export function offlineDocument(body, { terminal, number, fullNumber, soldAt, totalGross }) {
  return {
    terminal,
    number,
    full_number: fullNumber,
    client_uuid: body.client_uuid,
    sold_at: new Date(soldAt), // the instant, canonical UTC with microseconds (as the server)
    cashier_id: body.cashier_id ?? null,
    customer_id: body.customer_id ?? null,
    lines: body.lines.map((l) => ({
      sku: l.sku || l.barcode,
      quantity: l.quantity,
      discount_amount: D(l.discount_amount || "0"),
    })),
    order_discount: D(body.order_discount || "0"),
    total_gross: D(totalGross),
    tenders: body.tenders.map((t) => ({ type: t.type, amount: D(t.amount) })),
  };
}

export function formatNumber(series, number) {
  return `${series.prefix}${String(number).padStart(series.padding, "0")}`;
}

export async function seriesState(profile) {
  const held = await db.kvGet("series");
  if (held) return held;
  return { next: profile.receipt_series.next_number, head: profile.receipt_series.head_hash };
}

// Number and chain the sale on the device and put it in the outbox.
export async function queueOffline(profile, body, totalGross) {
  const state = await seriesState(profile);
  const soldAt = new Date().toISOString();
  const fullNumber = formatNumber(profile.receipt_series, state.next);
  const doc = offlineDocument(body, {
    terminal: profile.terminal,
    number: state.next,
    fullNumber,
    soldAt,
    totalGross,
  });
  const hash = await chainHash(state.head, doc);
  const queued = {
    ...body,
    offline: {
      receipt_number: state.next,
      previous_hash: state.head,
      hash,
      sold_at: soldAt,
      total_gross: D(totalGross).toString(),
    },
  };
  await db.queueSale(queued);
  return { body: queued, receipt_number: fullNumber, receipt_hash: hash };
}

// Remember where the server's series stands after an online sale.
export async function noteOnlineReceipt(result) {
  const m = /(\d+)$/.exec(result.receipt_number || "");
  if (m) await db.kvSet("series", { next: parseInt(m[1], 10) + 1, head: result.receipt_hash });
}

// Send the outbox in order, one sale at a time; each is stored exactly once
// on the server because a resend with the same client UUID returns the
// first sale. Stops at the first network failure.
export async function flushOutbox() {
  const queued = (await db.all("outbox")).sort((a, b) => a.seq - b.seq);
  let sent = 0;
  for (const item of queued) {
    const { seq, ...body } = item;
    try {
      const result = await api("POST", "/pos/sales", body);
      await db.put("sent", { client_uuid: body.client_uuid, body, result });
      sent += 1;
    } catch (err) {
      if (err instanceof OfflineError) return { sent, offline: true };
      if (err instanceof ApiError && err.status < 500) {
        await db.put("rejected", { client_uuid: body.client_uuid, body, error: err.body });
      } else {
        return { sent, offline: false, error: err.message };
      }
    }
    await db.remove("outbox", seq);
  }
  return { sent, offline: false };
}
