// The pricing engine in JavaScript: a faithful port of
// omniretail/pricing/engine.py (read its README for the rules), so the till
// prices a cart offline exactly like the server. Held to the same golden
// vectors (pricing/vectors/*.json) by tests/browser/test_pos_engine.py.
//
// priceCart(input) takes the engine's plain-dict input (amounts as strings,
// date-times ISO 8601 with an offset) and returns the plain-dict result that
// the server's `to_dict(price_cart(...))` returns, field for field.

import { D, Dec, ZERO, allocate, dmin, dsum, quantumExp } from "./decimal.js";

const HUNDRED = D(100);

export class PricingError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

// --- date-times: the instant for comparisons, the written form for reasons ---

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

export function parseMoment(text, field) {
  if (typeof text !== "string") throw new PricingError(`${field}: send an ISO 8601 date-time`, field);
  const m = ISO.exec(text);
  if (!m) throw new PricingError(`${field}: ${JSON.stringify(text)} is not an ISO 8601 date-time`, field);
  if (!m[8]) throw new PricingError(`${field}: ${JSON.stringify(text)} has no UTC offset; add one, e.g. +00:00`, field);
  let offset = 0;
  let offsetText = "+00:00";
  if (m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const body = m[8].slice(1).replace(":", "");
    offset = sign * (parseInt(body.slice(0, 2), 10) * 60 + parseInt(body.slice(2), 10));
    offsetText = `${m[8][0]}${body.slice(0, 2)}:${body.slice(2)}`;
  }
  const micro = m[7] ? parseInt(m[7].padEnd(6, "0"), 10) : 0;
  const local = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0);
  return {
    at: (local - offset * 60000) * 1000 + micro, // microseconds since the epoch
    minutes: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}${offsetText}`,
  };
}

function inWindow(from, to, now) {
  return (from == null || from.at <= now.at) && (to == null || now.at < to.at);
}

export function normaliseCode(code) {
  return code.trim().toUpperCase();
}

function num(value) {
  return value.normalize().toFixedText();
}

// --- input parsing (what from_dict does: defaults, types, field names) ---

function dec(value, field) {
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new PricingError(`${field}: send amounts as strings or integers, not floats (${value})`, field);
  }
  try {
    return Dec.of(value);
  } catch (err) {
    throw new PricingError(`${field}: ${err.message}`, field);
  }
}

const optMoment = (v, f) => (v == null ? null : parseMoment(v, f));
const optDec = (v, f) => (v == null ? null : dec(v, f));

function parseInput(data) {
  const ctx = data.context || {};
  const rules = data.rules || {};
  const rates = {};
  for (const [k, v] of Object.entries(rules.tax_rates || {})) rates[k] = dec(v, `rules.tax_rates.${k}`);
  return {
    lines: (data.lines || []).map((l, i) => ({
      line_id: l.line_id,
      sku: l.sku,
      variant_id: l.variant_id,
      product_id: l.product_id,
      tax_class: l.tax_class,
      base_price: dec(l.base_price, `lines[${i}].base_price`),
      quantity: l.quantity,
      category_ids: l.category_ids || [],
      manual_discount: dec(l.manual_discount ?? 0, `lines[${i}].manual_discount`),
    })),
    context: {
      channel: ctx.channel,
      currency: String(ctx.currency || "").toUpperCase(),
      now: parseMoment(ctx.now, "context.now"),
      store: ctx.store ?? null,
      customer_id: ctx.customer_id ?? null,
      customer_group: ctx.customer_group ?? null,
      coupon_codes: ctx.coupon_codes || [],
      source_code: ctx.source_code ?? null,
    },
    rules: {
      tax_mode: rules.tax_mode,
      tax_rates: rates,
      rounding: rules.rounding || "line",
      price_lists: (rules.price_lists || []).map((pl, i) => ({
        code: pl.code,
        currency: pl.currency,
        priority: pl.priority || 0,
        channel: pl.channel ?? null,
        store: pl.store ?? null,
        customer_group: pl.customer_group ?? null,
        entries: (pl.entries || []).map((e, j) => ({
          variant_id: e.variant_id,
          price: dec(e.price, `rules.price_lists[${i}].entries[${j}].price`),
          valid_from: optMoment(e.valid_from, `rules.price_lists[${i}].entries[${j}].valid_from`),
          valid_to: optMoment(e.valid_to, `rules.price_lists[${i}].entries[${j}].valid_to`),
        })),
      })),
      promotions: (rules.promotions || []).map((p, i) => ({
        id: p.id,
        code: p.code,
        name: p.name,
        kind: p.kind,
        value: dec(p.value, `rules.promotions[${i}].value`),
        target: p.target || "items",
        variant_ids: p.variant_ids || [],
        product_ids: p.product_ids || [],
        category_ids: p.category_ids || [],
        buy_quantity: p.buy_quantity || 0,
        get_quantity: p.get_quantity || 0,
        min_spend: optDec(p.min_spend, `rules.promotions[${i}].min_spend`),
        campaign: p.campaign ?? null,
        exclusive: !!p.exclusive,
        priority: p.priority || 0,
        valid_from: optMoment(p.valid_from, `rules.promotions[${i}].valid_from`),
        valid_to: optMoment(p.valid_to, `rules.promotions[${i}].valid_to`),
        channels: p.channels || [],
        customer_groups: p.customer_groups || [],
        coupon_required: !!p.coupon_required,
      })),
      coupons: (rules.coupons || []).map((c, i) => ({
        code: c.code,
        promotion_id: c.promotion_id,
        max_uses: c.max_uses ?? null,
        uses: c.uses || 0,
        per_customer_limit: c.per_customer_limit ?? null,
        customer_uses: c.customer_uses || 0,
        valid_from: optMoment(c.valid_from, `rules.coupons[${i}].valid_from`),
        valid_to: optMoment(c.valid_to, `rules.coupons[${i}].valid_to`),
      })),
      campaigns: (rules.campaigns || []).map((c, i) => ({
        code: c.code,
        name: c.name,
        valid_from: optMoment(c.valid_from, `rules.campaigns[${i}].valid_from`),
        valid_to: optMoment(c.valid_to, `rules.campaigns[${i}].valid_to`),
      })),
      source_codes: rules.source_codes || {},
    },
  };
}

// --- prices ---

function listApplies(pl, ctx) {
  return (
    pl.currency.toUpperCase() === ctx.currency &&
    (pl.channel === null || pl.channel === ctx.channel) &&
    (pl.store === null || pl.store === ctx.store) &&
    (pl.customer_group === null || pl.customer_group === ctx.customer_group)
  );
}

function specificity(pl) {
  return [pl.channel, pl.store, pl.customer_group].filter((x) => x !== null).length;
}

function newer(from, price, held) {
  const [heldFrom, heldPrice] = held;
  if (heldFrom === null) return from !== null || price.lt(heldPrice);
  if (from === null) return false;
  return from.at > heldFrom.at || (from.at === heldFrom.at && price.lt(heldPrice));
}

// Python's tuple order for (-spec, -prio, price, code).
function rankCmp(a, b) {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  const k = a[2].cmp(b[2]);
  if (k !== 0) return k;
  return a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0;
}

function minRank(items) {
  return items.reduce((best, x) => (best === null || rankCmp(x, best) < 0 ? x : best), null);
}

function prices(lines, rules, ctx) {
  const wanted = new Set(lines.map((l) => l.variant_id));
  const nowBest = new Map();
  const regularBest = new Map();
  const push = (map, k, v) => (map.has(k) ? map.get(k).push(v) : map.set(k, [v]));
  for (const pl of rules.price_lists) {
    if (!listApplies(pl, ctx)) continue;
    const spec = specificity(pl);
    const prio = pl.priority;
    const latest = new Map();
    const latestOpen = new Map();
    for (const entry of pl.entries) {
      if (!wanted.has(entry.variant_id) || !inWindow(entry.valid_from, entry.valid_to, ctx.now)) continue;
      for (const [store, eligible] of [[latest, true], [latestOpen, entry.valid_to === null]]) {
        if (!eligible) continue;
        const held = store.get(entry.variant_id);
        if (held === undefined || newer(entry.valid_from, entry.price, held)) {
          store.set(entry.variant_id, [entry.valid_from, entry.price]);
        }
      }
    }
    for (const [vid, [, price]] of latest) push(nowBest, vid, [-spec, -prio, price, pl.code]);
    for (const [vid, [, price]] of latestOpen) push(regularBest, vid, [-spec, -prio, price, pl.code]);
  }
  const result = new Map();
  for (const line of lines) {
    if (result.has(line.variant_id)) continue;
    const found = nowBest.get(line.variant_id);
    const regularFound = regularBest.get(line.variant_id);
    const regular = regularFound ? minRank(regularFound)[2] : line.base_price;
    if (found) {
      const key = minRank(found);
      result.set(line.variant_id, { unit: key[2], source: `price_list:${key[3]}`, regular });
    } else {
      result.set(line.variant_id, { unit: line.base_price, source: "base", regular });
    }
  }
  return result;
}

// --- promotions ---

function promotionRefusal(p, ctx) {
  if (!inWindow(p.valid_from, p.valid_to, ctx.now)) {
    if (p.valid_from !== null && ctx.now.at < p.valid_from.at) {
      return `the promotion starts on ${p.valid_from.minutes}`;
    }
    return `the promotion ended on ${p.valid_to.minutes}`;
  }
  if (p.channels.length && !p.channels.includes(ctx.channel)) {
    return `the promotion does not run on channel ${ctx.channel}`;
  }
  if (p.customer_groups.length && !p.customer_groups.includes(ctx.customer_group)) {
    return `the promotion is reserved for customer group(s) ${p.customer_groups.join(", ")}`;
  }
  return null;
}

function couponRefusal(c, code, ctx) {
  if (c.valid_from !== null && ctx.now.at < c.valid_from.at) return `Coupon ${code} is valid from ${c.valid_from.minutes}`;
  if (c.valid_to !== null && ctx.now.at >= c.valid_to.at) return `Coupon ${code} expired on ${c.valid_to.minutes}`;
  if (c.max_uses !== null && c.uses >= c.max_uses) {
    return `Coupon ${code} has been used the maximum ${c.max_uses} times`;
  }
  if (c.per_customer_limit !== null) {
    if (ctx.customer_id === null) {
      return (
        `Coupon ${code} is limited to ${c.per_customer_limit} use(s) per customer: ` +
        "identify the customer to use it"
      );
    }
    if (c.customer_uses >= c.per_customer_limit) {
      return (
        `Coupon ${code} has already been used ${c.customer_uses} time(s) by this ` +
        `customer (limit ${c.per_customer_limit})`
      );
    }
  }
  return null;
}

function promotionIndex(promotions) {
  const index = { byId: new Map(), position: new Map(), byVariant: new Map(), byProduct: new Map(), byCategory: new Map(), wholeOrder: [] };
  const push = (map, k, v) => (map.has(k) ? map.get(k).push(v) : map.set(k, [v]));
  promotions.forEach((p, pos) => {
    index.byId.set(p.id, p);
    index.position.set(p.id, pos);
    if (p.target === "order") {
      index.wholeOrder.push(pos);
      return;
    }
    for (const id of p.variant_ids) push(index.byVariant, id, pos);
    for (const id of p.product_ids) push(index.byProduct, id, pos);
    for (const id of p.category_ids) push(index.byCategory, id, pos);
  });
  return index;
}

// Promotion position -> indexes of the lines it targets (insertion-ordered
// like Python's dict: by line, then in the order the hits are met).
function matches(index, lines) {
  const found = new Map();
  lines.forEach((line, i) => {
    const src = line.source;
    const hits = new Set(index.byVariant.get(src.variant_id) || []);
    for (const pos of index.byProduct.get(src.product_id) || []) hits.add(pos);
    for (const cid of src.category_ids) for (const pos of index.byCategory.get(cid) || []) hits.add(pos);
    for (const pos of hits) (found.has(pos) ? found.get(pos) : found.set(pos, []).get(pos)).push(i);
  });
  const everything = lines.map((_, i) => i);
  for (const pos of index.wholeOrder) found.set(pos, everything);
  return found;
}

const round = (value, qexp) => value.quantize(qexp, "half_up");

function discounts(p, lines, matched, ctx, qexp, given) {
  const cur = ctx.currency;
  const value = p.value;
  const live = matched.filter((i) => lines[i].remaining.gt(ZERO));
  const base = dsum(matched.map((i) => lines[i].remaining));
  if (p.min_spend !== null && base.lt(p.min_spend)) {
    const what = p.target === "order" ? "the order" : "the eligible items";
    return [
      new Map(),
      `spend at least ${p.min_spend} ${cur} on ${what} to get this promotion ` +
        `(${round(p.min_spend.sub(base), qexp)} ${cur} to go)`,
    ];
  }
  if (!live.length) return [new Map(), "nothing left to discount on the eligible items"];
  let parts = new Map();
  if (p.kind === "buy_x_get_y") {
    const group = p.buy_quantity + p.get_quantity;
    const units = live.reduce((s, i) => s + lines[i].source.quantity, 0);
    if (group <= 0 || units < group) {
      return [new Map(), `add ${group - units} more eligible item(s) to get this promotion`];
    }
    let free = Math.floor(units / group) * p.get_quantity;
    const keyed = live.map((i) => [lines[i].remaining.div(lines[i].source.quantity), i]);
    keyed.sort((a, b) => a[0].cmp(b[0]) || a[1] - b[1]);
    for (const [, i] of keyed) {
      if (free <= 0) break;
      const line = lines[i];
      const take = Math.min(free, line.source.quantity);
      free -= take;
      given.set(i, take);
      const share = line.remaining.mul(take).div(line.source.quantity);
      parts.set(i, dmin(line.remaining, round(share.mul(value).div(HUNDRED), qexp)));
    }
  } else if (p.target === "order") {
    const total = dsum(live.map((i) => lines[i].remaining));
    const off = p.kind === "percent_off" ? round(total.mul(value).div(HUNDRED), qexp) : dmin(value, total);
    const shares = allocate(off, live.map((i) => lines[i].remaining), qexp);
    live.forEach((i, k) => parts.set(i, shares[k]));
  } else {
    for (const i of live) {
      const line = lines[i];
      const off =
        p.kind === "percent_off" ? round(line.remaining.mul(value).div(HUNDRED), qexp) : value.mul(line.source.quantity);
      parts.set(i, dmin(line.remaining, off));
    }
  }
  parts = new Map([...parts].filter(([, amount]) => amount.gt(ZERO)));
  if (!parts.size) return [new Map(), "nothing left to discount on the eligible items"];
  return [parts, null];
}

function reason(p, line, count, cur, coupon) {
  const value = num(p.value);
  let text;
  if (p.kind === "buy_x_get_y") {
    const what = p.value.eq(HUNDRED) ? "free" : `at ${value}% off`;
    text = `${p.name}: buy ${p.buy_quantity} get ${p.get_quantity} ${what} (${count} of ${line.source.quantity} here)`;
  } else if (p.target === "order") {
    const off = p.kind === "percent_off" ? `${value}%` : `${p.value} ${cur}`;
    text = `${p.name}: ${off} off the order (this line's share)`;
  } else if (p.kind === "percent_off") {
    text = `${p.name}: ${value}% off`;
  } else {
    text = `${p.name}: ${p.value} ${cur} off each`;
  }
  return coupon ? `${text}, coupon ${coupon}` : text;
}

function validate(data) {
  const ctx = data.context;
  const qexp = quantumExp(ctx.currency);
  data.lines.forEach((line, i) => {
    if (!(line.quantity > 0)) {
      throw new PricingError(`lines[${i}].quantity: send a quantity above 0 (got ${line.quantity})`, `lines[${i}].quantity`);
    }
    const md = line.manual_discount;
    if (md.lt(ZERO) || !md.eq(md.quantize(qexp, "half_even"))) {
      throw new PricingError(`lines[${i}].manual_discount: send an amount of 0 or more in ${new Dec(1n, qexp)} steps`, `lines[${i}].manual_discount`);
    }
    if (!(line.tax_class in data.rules.tax_rates)) {
      throw new PricingError(
        `lines[${i}].tax_class: no rate for tax class '${line.tax_class}'; add it to rules.tax_rates`,
        `lines[${i}].tax_class`,
      );
    }
  });
}

function reject(rejected, p, coupon, why) {
  if (coupon) rejected.push({ kind: "coupon", code: coupon, reason: `Coupon ${coupon}: ${why}`, promotion_id: p.id });
  else rejected.push({ kind: "promotion", code: p.code, reason: `${p.name}: ${why}`, promotion_id: p.id });
}

function couponsCheck(rules, ctx, promotions, rejected) {
  const unlocked = new Map();
  if (!ctx.coupon_codes.length) return unlocked;
  const coupons = new Map(rules.coupons.map((c) => [normaliseCode(c.code), c]));
  const seen = new Set();
  for (const raw of ctx.coupon_codes) {
    const code = normaliseCode(raw);
    if (!code) continue;
    if (seen.has(code)) {
      rejected.push({ kind: "coupon", code, reason: `Coupon ${code} was entered twice`, promotion_id: null });
      continue;
    }
    seen.add(code);
    const coupon = coupons.get(code);
    if (coupon === undefined) {
      rejected.push({ kind: "coupon", code, reason: `Coupon ${code} does not exist; check the code`, promotion_id: null });
      continue;
    }
    let refusal = couponRefusal(coupon, code, ctx);
    const p = promotions.get(coupon.promotion_id);
    if (refusal === null && p === undefined) refusal = `Coupon ${code} has no promotion in force`;
    if (refusal === null && p !== undefined) {
      const why = promotionRefusal(p, ctx);
      if (why !== null) refusal = `Coupon ${code}: ${why}`;
      else if (unlocked.has(p.id)) {
        refusal = `Coupon ${code} gives the same promotion as coupon ${unlocked.get(p.id)}, already entered`;
      }
    }
    if (refusal !== null) {
      rejected.push({ kind: "coupon", code, reason: refusal, promotion_id: coupon.promotion_id });
      continue;
    }
    unlocked.set(coupon.promotion_id, code);
  }
  return unlocked;
}

// --- tax ---

function taxOf(amount, rate, included, qexp) {
  const raw = included ? amount.mul(rate).div(D(1).add(rate)) : amount.mul(rate);
  return raw.quantize(qexp, "half_even");
}

function taxes(lines, rules, qexp) {
  const included = rules.tax_mode === "included";
  const rates = lines.map((l) => rules.tax_rates[l.source.tax_class]);
  const tax = lines.map(() => ZERO);
  if (rules.rounding === "line") {
    lines.forEach((line, i) => (tax[i] = taxOf(line.remaining, rates[i], included, qexp)));
  } else {
    const byRate = new Map();
    rates.forEach((rate, i) => {
      const k = rate.normalize().toString();
      (byRate.has(k) ? byRate.get(k) : byRate.set(k, { rate, members: [] }).get(k)).members.push(i);
    });
    for (const { rate, members } of byRate.values()) {
      const total = dsum(members.map((i) => lines[i].remaining));
      const shares = allocate(taxOf(total, rate, included, qexp), members.map((i) => lines[i].remaining), qexp);
      members.forEach((i, k) => (tax[i] = shares[k]));
    }
  }
  const priced = [];
  const summary = new Map();
  lines.forEach((line, i) => {
    const t = tax[i];
    const [net, gross] = included ? [line.remaining.sub(t), line.remaining] : [line.remaining, line.remaining.add(t)];
    const src = line.source;
    priced.push({
      line_id: src.line_id,
      sku: src.sku,
      variant_id: src.variant_id,
      quantity: src.quantity,
      tax_class: src.tax_class,
      tax_rate: rates[i],
      list_price: line.price.regular,
      unit_price: line.price.unit,
      price_source: line.price.source,
      amount: line.amount,
      discounts: line.discounts,
      discount_total: line.amount.sub(line.remaining),
      net,
      tax: t,
      gross,
    });
    const k = rates[i].normalize().toString();
    if (!summary.has(k)) summary.set(k, { rate: rates[i], base: ZERO, tax: ZERO, gross: ZERO });
    const row = summary.get(k);
    row.base = row.base.add(net);
    row.tax = row.tax.add(t);
    row.gross = row.gross.add(gross);
  });
  const rows = [...summary.values()].sort((a, b) => a.rate.cmp(b.rate));
  return [priced, rows];
}

// --- campaign ---

function campaignOf(rules, ctx, applied, rejected) {
  const campaigns = new Map(rules.campaigns.map((c) => [c.code, c]));
  if (ctx.source_code && ctx.source_code.trim()) {
    const code = normaliseCode(ctx.source_code);
    const sources = new Map(Object.entries(rules.source_codes).map(([k, v]) => [normaliseCode(k), v]));
    const campaign = campaigns.get(sources.get(code) ?? "");
    if (campaign === undefined) {
      rejected.push({ kind: "source_code", code, reason: `Source code ${code} is unknown; check the code`, promotion_id: null });
    } else if (!inWindow(campaign.valid_from, campaign.valid_to, ctx.now)) {
      rejected.push({
        kind: "source_code",
        code,
        reason: `Source code ${code}: campaign ${campaign.code} is not running now`,
        promotion_id: null,
      });
    } else {
      return { code: campaign.code, name: campaign.name, via: "source_code", source_code: code };
    }
  }
  for (const entry of applied) {
    const found = campaigns.get(entry.campaign ?? "");
    if (found !== undefined) return { code: found.code, name: found.name, via: "promotion", source_code: null };
  }
  return null;
}

// --- the engine ---

export function priceCart(input) {
  const data = parseInput(input);
  validate(data);
  const { rules, context: ctx } = data;
  const cur = ctx.currency;
  const qexp = quantumExp(cur);

  const priceOf = prices(data.lines, rules, ctx);
  const lines = data.lines.map((source) => {
    const price = priceOf.get(source.variant_id);
    const amount = round(price.unit.mul(source.quantity), qexp);
    const line = { source, price, amount, remaining: amount, discounts: [] };
    const manual = dmin(source.manual_discount, amount);
    if (manual.gt(ZERO)) {
      line.remaining = line.remaining.sub(manual);
      line.discounts.push({ promotion_id: null, code: null, amount: manual, reason: "Manual discount" });
    }
    return line;
  });

  const rejected = [];
  const index = promotionIndex(rules.promotions);
  const unlocked = couponsCheck(rules, ctx, index.byId, rejected);
  const found = matches(index, lines);
  for (const pid of unlocked.keys()) {
    const pos = index.position.get(pid);
    if (!found.has(pos)) found.set(pos, []);
  }
  const candidates = [...found]
    .map(([pos, matched]) => [rules.promotions[pos], matched])
    .filter(([p]) => (!p.coupon_required || unlocked.has(p.id)) && promotionRefusal(p, ctx) === null);
  candidates.sort((a, b) => b[0].priority - a[0].priority || a[0].id - b[0].id);

  const applied = [];
  let exclusive = null;
  for (const [p, matched] of candidates) {
    const coupon = unlocked.get(p.id) ?? null;
    if (!matched.length) {
      if (coupon) {
        rejected.push({
          kind: "coupon",
          code: coupon,
          reason: `Coupon ${coupon}: none of the items in the cart is eligible for ${p.name}`,
          promotion_id: p.id,
        });
      }
      continue;
    }
    let refusal = null;
    if (exclusive !== null) refusal = `not combined: the exclusive promotion ${exclusive.code} applies`;
    else if (p.exclusive && applied.length) {
      refusal = `exclusive promotion, not combined with ${applied[0].code} (which has a higher priority)`;
    }
    let parts = new Map();
    const given = new Map();
    if (refusal === null) [parts, refusal] = discounts(p, lines, matched, ctx, qexp, given);
    if (refusal !== null) {
      reject(rejected, p, coupon, refusal);
      continue;
    }
    for (const [i, off] of parts) {
      const line = lines[i];
      line.discounts.push({ promotion_id: p.id, code: p.code, amount: off, reason: reason(p, line, given.get(i) ?? 0, cur, coupon) });
      line.remaining = line.remaining.sub(off);
    }
    const entry = {
      promotion_id: p.id,
      code: p.code,
      name: p.name,
      amount: dsum([...parts.values()]),
      coupon_code: coupon,
      campaign: p.campaign,
    };
    applied.push(entry);
    if (p.exclusive) exclusive = entry;
  }

  const [priced, taxRows] = taxes(lines, rules, qexp);
  const campaign = campaignOf(rules, ctx, applied, rejected);
  const result = {
    currency: cur,
    tax_mode: rules.tax_mode,
    rounding: rules.rounding,
    lines: priced,
    totals: {
      subtotal: dsum(priced.map((l) => l.amount)),
      discount_total: dsum(priced.map((l) => l.discount_total)),
      net: dsum(priced.map((l) => l.net)),
      tax: dsum(priced.map((l) => l.tax)),
      gross: dsum(priced.map((l) => l.gross)),
    },
    tax_summary: taxRows,
    applied,
    coupons_applied: applied.filter((a) => a.coupon_code).map((a) => a.coupon_code),
    rejected,
    campaign,
  };
  // Plain JSON (Decimals as their Python text), like the server's to_dict.
  return JSON.parse(JSON.stringify(result));
}
