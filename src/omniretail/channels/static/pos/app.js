// The till: one Web Component (<pos-app>) with a screen per task — pairing,
// cashier sign-in, selling, payment, receipt, returns, pick-ups, drawer —
// and a status line (online / offline / N sales waiting). Everything works
// from the keyboard: the scan field keeps the focus; a keyboard-wedge scanner
// types the barcode and Enter.

import { api, ApiError, OfflineError, setCashierToken } from "./api.js";
import * as db from "./db.js";
import { D, dsum } from "./decimal.js";
import { Sale, flushOutbox, newUuid, noteOnlineReceipt, queueOffline } from "./sale.js";
import "./receipt.js";
import { ReturnScreens } from "./returns.js";

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const FEEDS = [
  ["catalog", "variants"],
  ["customers", "customers"],
];

class PosApp extends HTMLElement {
  async connectedCallback() {
    this.state = { screen: "boot", online: navigator.onLine, waiting: 0, message: "", error: "" };
    this.addEventListener("click", (e) => this.onClick(e));
    this.addEventListener("submit", (e) => this.onSubmit(e));
    this.addEventListener("keydown", (e) => this.onKey(e));
    window.addEventListener("online", () => this.goOnline());
    window.addEventListener("offline", () => this.setOnline(false));
    // The "online" event can come before the server is reachable again: while
    // sales wait, try again every 20 s as well.
    setInterval(() => {
      if (this.state.waiting > 0 && navigator.onLine) this.goOnline().catch(() => {});
    }, 20000);
    window.posDebug = this.debugApi();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/pos/sw.js", { scope: "/pos/" }).catch(() => {});
    }
    this.profile = await db.kvGet("profile");
    const key = await db.kvGet("terminal_key");
    const session = await db.kvGet("cashier");
    if (!key || !this.profile) return this.show("pair");
    if (session && new Date(session.expires_at) > new Date()) {
      this.cashier = session;
      setCashierToken(session.token);
    }
    this.rules = await db.kvGet("rules");
    await this.refreshWaiting();
    this.show(this.cashier ? "sell" : "signin");
    this.sync();
  }

  // --- state and rendering ---

  show(screen, extra = {}) {
    Object.assign(this.state, { screen, error: "", ...extra });
    if (screen === "sell" && !this.sale) this.sale = new Sale(this.profile);
    this.render();
  }

  fail(err) {
    const text = err instanceof OfflineError ? "The server cannot be reached." : err.message;
    this.state.error = text;
    this.render();
  }

  setOnline(online) {
    this.state.online = online;
    this.renderStatus();
  }

  async refreshWaiting() {
    this.state.waiting = await db.count("outbox");
    this.state.rejected = await db.count("rejected");
    this.renderStatus();
  }

  renderStatus() {
    const el = this.querySelector("#status");
    if (!el) return;
    const { online, waiting } = this.state;
    el.dataset.online = online ? "yes" : "no";
    el.dataset.waiting = String(waiting);
    el.textContent = `${online ? "online" : "offline"} · ${waiting} sale${waiting === 1 ? "" : "s"} waiting`;
    const who = this.querySelector("#who");
    if (who) who.textContent = this.cashier ? `${this.cashier.name} (${this.cashier.role})` : "";
  }

  render() {
    const s = this.state;
    const body = this[`view_${s.screen}`] ? this[`view_${s.screen}`]() : "<p>Starting…</p>";
    // A scanner keeps typing while the screen is redrawn: keep what it typed.
    const typing = this.querySelector("#scan")?.value || "";
    this.innerHTML = `
      <header>
        <strong>${esc(this.profile ? `${this.profile.store_name} · ${this.profile.name}` : "OmniRetail till")}</strong>
        <span id="who"></span>
        <span id="status" role="status"></span>
      </header>
      ${s.error ? `<p class="error" role="alert" id="error">${esc(s.error)}</p>` : ""}
      ${s.message ? `<p class="message" id="message">${esc(s.message)}</p>` : ""}
      <main>${body}</main>`;
    this.renderStatus();
    const scanField = this.querySelector("#scan");
    if (scanField && typing) scanField.value = typing;
    const focus = this.querySelector("[autofocus]");
    if (focus) focus.focus();
  }

  // --- pairing and cashiers ---

  view_pair() {
    return `<form id="pair-form" class="card">
      <h1>Pair this till</h1>
      <p>Paste or scan the pairing code an administrator created for this terminal.</p>
      <input id="pair-code" name="code" autocomplete="off" autofocus aria-label="Pairing code">
      <button id="pair-go">Pair</button></form>`;
  }

  async pair(code) {
    await db.kvSet("terminal_key", code.trim());
    try {
      this.profile = await api("GET", "/pos/terminal");
    } catch (err) {
      await db.kvSet("terminal_key", null);
      throw err;
    }
    await db.kvSet("profile", this.profile);
    await db.kvSet("series", null);
    await this.sync();
    this.show("signin");
  }

  view_signin() {
    const list = (this.state.cashiers || [])
      .map((c) => `<option value="${c.cashier_id}">${esc(c.name)} — ${esc(c.role)}</option>`)
      .join("");
    if (!this.state.cashiers) this.loadCashiers();
    return `<form id="signin-form" class="card">
      <h1>Sign in</h1>
      <label>Cashier <select id="cashier" name="cashier">${list}</select></label>
      <label>PIN <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" autofocus></label>
      <button id="signin-go">Sign in</button></form>`;
  }

  async loadCashiers() {
    try {
      this.state.cashiers = await api("GET", "/pos/cashiers");
      await db.kvSet("cashiers", this.state.cashiers);
    } catch (err) {
      this.state.cashiers = (await db.kvGet("cashiers")) || [];
    }
    this.render();
  }

  async signIn(cashierId, pin) {
    const session = await api("POST", "/pos/cashiers/sign-in", { cashier_id: Number(cashierId), pin });
    this.cashier = session;
    setCashierToken(session.token);
    await db.kvSet("cashier", session);
    this.sale = null;
    this.show("sell", { message: `Signed in: ${session.name}` });
  }

  async signOut() {
    try {
      await api("POST", "/pos/cashiers/sign-out");
    } catch {
      /* the token expires by itself */
    }
    this.cashier = null;
    setCashierToken(null);
    await db.kvSet("cashier", null);
    this.state.cashiers = null;
    this.show("signin");
  }

  // --- sync: feeds, rules, outbox ---

  async sync() {
    try {
      for (const [feed, store] of FEEDS) {
        const cursor = await db.kvGet(`cursor:${feed}`);
        const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
        const page = await api("GET", `/pos/sync/${feed}${q}`);
        await db.applyFeed(store, page.rows, page.reset);
        await db.kvSet(`cursor:${feed}`, page.cursor);
      }
      const bundle = await api("GET", `/pricing/rules?store=${encodeURIComponent(this.profile.store)}`);
      this.rules = bundle.rules;
      await db.kvSet("rules", this.rules);
      await this.goOnline();
    } catch (err) {
      if (err instanceof OfflineError) this.setOnline(false);
      else this.fail(err);
    }
  }

  async goOnline() {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      const result = await flushOutbox();
      this.setOnline(!result.offline);
      if (!result.offline && (await db.count("outbox")) === 0) {
        await db.kvSet("offline_used", null); // every offline sale reached the server: a new allowance
        try {
          this.profile = await api("GET", "/pos/terminal");
          await db.kvSet("profile", this.profile);
          await db.kvSet("series", { next: this.profile.receipt_series.next_number, head: this.profile.receipt_series.head_hash });
        } catch {
          /* next time */
        }
      }
      await this.refreshWaiting();
      return result;
    })();
    try {
      return await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  // --- selling ---

  view_sell() {
    const sale = this.sale;
    let priced = null;
    try {
      priced = sale.price(this.rules);
    } catch (err) {
      this.state.error = err.message;
    }
    const rows = sale.lines
      .map((l, i) => {
        const p = priced ? priced.lines[i] : null;
        const reasons = p ? p.discounts.map((d) => `<div class="reason">${esc(d.reason)}: −${esc(d.amount)}</div>`).join("") : "";
        return `<tr data-line="${i}" class="${this.state.selected === i ? "selected" : ""}">
          <td>${esc(l.variant.name)}<div class="sku">${esc(l.variant.sku)}</div>${reasons}</td>
          <td class="num">${l.quantity}</td>
          <td class="num">${esc(p ? p.unit_price : l.variant.price)}</td>
          <td class="num">${l.discountPercent.isZero() ? "" : `${l.discountPercent}%`}</td>
          <td class="num">${esc(p ? p.gross : "")}</td></tr>`;
      })
      .join("");
    const found = (this.state.found || [])
      .map((v) => `<li><button data-action="add" data-id="${v.id}">${esc(v.name)} · ${esc(v.sku)} · ${esc(v.price)}</button></li>`)
      .join("");
    const cust = sale.customer
      ? `<p id="customer-line">Customer: <strong>${esc(sale.customer.name)}</strong> ${esc(this.state.card || "")}</p>`
      : "";
    return `<section class="sell">
      <form id="scan-form"><input id="scan" name="q" autocomplete="off" autofocus
        placeholder="Scan or type a barcode, SKU or name — Enter" aria-label="Scan"></form>
      ${found ? `<ul id="found">${found}</ul>` : ""}
      ${cust}
      <table id="lines"><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th>Disc.</th><th>Total</th></tr></thead>
      <tbody>${rows}</tbody></table>
      <p class="total">Total <span id="total">${esc(priced ? priced.totals.gross : "0.00")}</span> ${esc(this.profile.currency)}
        ${priced && priced.totals.discount_total !== "0.00" ? `<small>(saved ${esc(priced.totals.discount_total)})</small>` : ""}</p>
      <nav class="actions">
        <button data-action="qty" id="act-qty">Quantity (F3)</button>
        <button data-action="line-discount" id="act-line-discount">Line discount</button>
        <button data-action="order-discount" id="act-order-discount">Order discount</button>
        <button data-action="coupon" id="act-coupon">Coupon</button>
        <button data-action="customer" id="act-customer">Customer (F2)</button>
        <button data-action="pay" id="pay" ${sale.lines.length ? "" : "disabled"}>Pay (F4)</button>
        <button data-action="void" id="act-void">Clear sale</button>
        <button data-action="screen" data-screen="returns" id="act-returns">Returns</button>
        <button data-action="screen" data-screen="pickups" id="act-pickups">Pick-ups</button>
        <button data-action="screen" data-screen="drawer" id="act-drawer">Drawer</button>
        <button data-action="switch" id="act-switch">Switch cashier</button>
      </nav></section>`;
  }

  async scan(text) {
    const q = text.trim();
    if (!q) return;
    const variant = (await db.byIndex("variants", "barcode", q)) || (await db.byIndex("variants", "sku", q));
    if (variant && variant.active) {
      this.sale.add(variant);
      this.state.found = null;
      this.state.selected = this.sale.lines.findIndex((l) => l.variant.id === variant.id);
      return this.show("sell");
    }
    const needle = q.toLowerCase();
    const found = (await db.all("variants")).filter(
      (v) => v.active && (v.name.toLowerCase().includes(needle) || v.sku.toLowerCase().includes(needle)),
    );
    if (!found.length) return this.show("sell", { error: `Nothing matches “${q}”.` });
    if (found.length === 1) {
      this.sale.add(found[0]);
      return this.show("sell", { found: null });
    }
    this.show("sell", { found: found.slice(0, 20) });
  }

  selectedLine() {
    const i = this.state.selected ?? this.sale.lines.length - 1;
    return this.sale.lines[i];
  }

  async askDiscount(kind) {
    const line = kind === "line" ? this.selectedLine() : null;
    if (kind === "line" && !line) return;
    const text = prompt(kind === "line" ? "Discount on the line, in %" : "Discount on the whole sale, in %");
    if (text === null) return;
    let percent;
    try {
      percent = D(text.trim().replace(",", "."));
    } catch {
      return this.show("sell", { error: "Type a percentage, e.g. 10." });
    }
    if (percent.lt(0) || percent.gt(100)) return this.show("sell", { error: "A discount is from 0 to 100 %." });
    const before = kind === "line" ? line.discountPercent : this.sale.orderDiscountPercent;
    if (kind === "line") line.discountPercent = percent;
    else this.sale.orderDiscountPercent = percent;
    const given = this.sale.discountPercentGiven();
    const limit = D(this.cashier.max_discount_percent);
    if (given.gt(limit) && !(this.sale.approval && given.le(D(this.sale.approval.max_percent)))) {
      const ok = await this.managerOverride(given);
      if (!ok) {
        if (kind === "line") line.discountPercent = before;
        else this.sale.orderDiscountPercent = before;
      }
    }
    this.show("sell");
  }

  async managerOverride(percent) {
    const manager = prompt(`A discount of ${percent.quantize(-1)}% is above your ${this.cashier.max_discount_percent}%. Manager's staff number:`);
    if (!manager) return false;
    const pin = prompt("Manager's PIN");
    const reason = prompt("Why is the discount given?") || "";
    try {
      const ok = await api("POST", "/pos/overrides", {
        manager_id: Number(manager),
        pin: pin || "",
        percent: percent.quantize(-2).toString(),
        reason,
        sale_ref: this.sale.uuid,
      });
      this.sale.approval = { manager_id: ok.manager_id, reason, max_percent: ok.max_percent };
      this.state.message = `Approved by ${ok.manager_name}`;
      return true;
    } catch (err) {
      this.state.error = err.message;
      return false;
    }
  }

  async findCustomer() {
    const q = prompt("Customer: name, e-mail, phone or card");
    if (!q) return;
    let hits;
    try {
      hits = await api("GET", `/pos/customers/search?q=${encodeURIComponent(q)}`);
    } catch (err) {
      if (!(err instanceof OfflineError)) return this.show("sell", { error: err.message });
      const n = q.toLowerCase();
      hits = (await db.all("customers")).filter((c) =>
        [c.name, c.email, c.phone, c.loyalty_card].some((f) => (f || "").toLowerCase().includes(n)),
      );
    }
    if (!hits.length) return this.show("sell", { error: `No customer matches “${q}”.` });
    this.show("customer", { hits, card: null });
  }

  view_customer() {
    const hits = this.state.hits.map((c) => `<li><button data-action="pick-customer" data-id="${c.id}">${esc(c.name)} · ${esc(c.email)} · ${esc(c.phone)} ${esc(c.loyalty_card)}</button></li>`).join("");
    const card = this.state.customerCard;
    let detail = "";
    if (card) {
      const points = card.points.map((p) => `${p.points} points (${p.value} ${p.currency})`).join(", ") || "no points";
      const credit = Object.entries(card.store_credit).map(([c, v]) => `${v} ${c}`).join(", ") || "none";
      const orders = card.orders.map((o) => `<tr><td>${esc(o.placed_at.slice(0, 10))}</td><td>${esc(o.channel)}</td><td>${esc(o.receipt_number || `#${o.order_id}`)}</td><td class="num">${esc(o.total_gross)}</td><td>${esc(o.status)}</td></tr>`).join("");
      detail = `<div id="customer-card"><h2>${esc(card.customer.name)}</h2><p>Loyalty: ${esc(points)} · Store credit: ${esc(credit)}</p>
        <table><tbody>${orders}</tbody></table>
        <button data-action="use-customer" id="use-customer">Use for this sale</button></div>`;
    }
    return `<section><h1>Customer</h1><ul>${hits}</ul>${detail}<button data-action="screen" data-screen="sell">Back (Esc)</button></section>`;
  }

  async pickCustomer(id) {
    const c = this.state.hits.find((h) => h.id === id);
    this.state.picked = c;
    try {
      this.state.customerCard = await api("GET", `/pos/customers/${id}/card`);
    } catch {
      this.state.customerCard = { customer: c, orders: [], points: [], store_credit: {} };
    }
    this.render();
  }

  // --- payment ---

  view_pay() {
    const total = this.sale.total();
    const tenders = this.state.tenders || [];
    const paid = dsum(tenders.map((t) => D(t.amount)));
    const left = total.sub(paid);
    const rows = tenders.map((t, i) => `<li>${esc(t.type)} ${esc(t.amount)}${t.token ? ` (${esc(t.token)})` : ""}${t.code ? ` (${esc(t.code)})` : ""} <button data-action="drop-tender" data-i="${i}">×</button></li>`).join("");
    const change = left.lt(0) ? left.neg() : D("0.00");
    return `<section class="pay"><h1>Pay <span id="pay-total">${total}</span> ${esc(this.profile.currency)}</h1>
      <ul id="tenders">${rows}</ul>
      ${this.state.online ? "" : `<p id="offline-allowance">Offline: card payments are captured later; gift cards and points pay within this till's allowance (${esc(this.profile.offline_allowance.gift_card_amount)} / ${esc(this.profile.offline_allowance.points)} points).</p>`}
      <p>Left to pay: <strong id="left">${left.gt(0) ? left : "0.00"}</strong> · Change: <strong id="change">${change}</strong></p>
      <form id="tender-form">
        <label>Amount <input id="tender-amount" name="amount" value="${left.gt(0) ? left : ""}" autofocus autocomplete="off"></label>
        <label>Card token / gift card code / points <input id="tender-ref" name="ref" autocomplete="off"></label>
        <div class="actions">
          <button name="type" value="cash" id="tender-cash">Cash</button>
          <button name="type" value="card" id="tender-card">Card</button>
          <button name="type" value="gift_card" id="tender-gift_card">Gift card</button>
          <button name="type" value="store_credit" id="tender-store_credit">Store credit</button>
          <button name="type" value="loyalty" id="tender-loyalty">Points</button>
        </div></form>
      <button data-action="complete" id="complete" ${left.gt(0) ? "disabled" : ""}>Complete sale (Enter)</button>
      <button data-action="screen" data-screen="sell">Back (Esc)</button></section>`;
  }

  addTender(type, amountText, ref) {
    let amount;
    try {
      amount = D((amountText || "").trim().replace(",", "."));
    } catch {
      return this.show("pay", { error: "Type the amount, e.g. 20.00" });
    }
    if (!amount.gt(0)) return this.show("pay", { error: "The amount must be above 0." });
    const t = { type, amount: amount.quantize(-2).toString() };
    if (type === "card") t.token = ref || "tok_visa";
    if (type === "gift_card") {
      if (!ref) return this.show("pay", { error: "Type or scan the gift card code." });
      t.code = ref;
    }
    if (type === "loyalty") t.points = ref ? Number(ref) : undefined;
    if ((type === "store_credit" || type === "loyalty") && !this.sale.customer) {
      return this.show("pay", { error: "Identify the customer first (Customer, F2)." });
    }
    this.state.tenders = [...(this.state.tenders || []), t];
    this.show("pay");
  }

  // Points a loyalty tender spends: what it pays over one point's value, rounded up.
  pointsFor(amount) {
    const value = this.profile.loyalty_point_value;
    if (!value) throw new Error("Points need the server here (no loyalty programme known offline); take another tender.");
    const exact = D(amount).div(D(value));
    const whole = exact.quantize(0, "down");
    return Number((whole.lt(exact) ? whole.add(1) : whole).toString());
  }

  // While offline, gift cards and points may pay only up to the terminal's
  // allowance (TerminalAllowance) in all, until the outbox reaches the server.
  async offlineAllowanceCheck(tenders) {
    const allowance = this.profile.offline_allowance;
    const used = (await db.kvGet("offline_used")) || { gift_card_amount: "0", points: 0 };
    if (tenders.some((t) => t.type === "store_credit")) throw new Error("Store credit needs the server; take another tender.");
    const gift = D(used.gift_card_amount).add(dsum(tenders.filter((t) => t.type === "gift_card").map((t) => D(t.amount))));
    const spent = tenders.filter((t) => t.type === "loyalty").reduce((s, t) => s + this.pointsFor(t.amount), 0);
    const points = used.points + spent;
    if (gift.gt(D(allowance.gift_card_amount))) {
      const left = D(allowance.gift_card_amount).sub(D(used.gift_card_amount));
      throw new Error(`Offline, gift cards may pay up to ${allowance.gift_card_amount} in all (${left} left); take another tender.`);
    }
    if (points > allowance.points) {
      throw new Error(`Offline, points may pay up to ${allowance.points} points in all (${allowance.points - used.points} left); take another tender.`);
    }
    return { gift_card_amount: gift.toString(), points };
  }

  async complete() {
    const total = this.sale.total();
    const tenders = (this.state.tenders || []).map((t) => ({ ...t }));
    const body = this.sale.body(tenders, this.cashier.cashier_id);
    let receipt;
    try {
      const result = await api("POST", "/pos/sales", body);
      await noteOnlineReceipt(result);
      this.setOnline(true);
      receipt = { ...result, offline: false, body };
    } catch (err) {
      if (!(err instanceof OfflineError)) return this.fail(err);
      this.setOnline(false);
      try {
        for (const t of body.tenders) if (t.type === "card") t.offline_capture = true;
        const used = await this.offlineAllowanceCheck(body.tenders);
        const queued = await queueOffline(this.profile, body, total.toString());
        await db.kvSet("offline_used", used);
        receipt = { receipt_number: queued.receipt_number, receipt_hash: queued.receipt_hash, offline: true, body: queued.body, total_gross: total.toString() };
      } catch (e2) {
        return this.fail(e2);
      }
    }
    const paid = dsum(tenders.map((t) => D(t.amount)));
    receipt.priced = this.sale.priced;
    receipt.change = receipt.change ?? paid.sub(total).toString();
    receipt.cashier = this.cashier.name;
    receipt.customer = this.sale.customer;
    this.lastReceipt = receipt;
    this.sale = null;
    this.state.tenders = [];
    await this.refreshWaiting();
    this.show("receipt");
  }

  view_receipt() {
    return `<section><pos-receipt id="receipt"></pos-receipt>
      <nav class="actions">
        <button data-action="print" id="print">Print</button>
        <form id="email-form" class="inline"><input id="email" name="email" type="email" placeholder="customer@example.com" aria-label="E-mail">
        <button id="email-go">E-mail receipt</button></form>
        <button data-action="new-sale" id="new-sale" autofocus>New sale (Enter)</button>
      </nav></section>`;
  }

  // --- pick-ups ---

  view_pickups() {
    if (!this.state.pickups) this.load("pickups", "/pos/pickups");
    const rows = (this.state.pickups || [])
      .map(
        (p) => `<li data-pickup="${esc(p.number)}"><strong>${esc(p.number)}</strong> · order ${esc(p.external_id || `#${p.order_id}`)} · ${esc(p.customer)} · ${p.lines.map((l) => `${l.quantity} × ${esc(l.description)}`).join(", ")}
      <form class="handover inline" data-number="${esc(p.number)}"><input name="code" class="handover-code" placeholder="Collection code" aria-label="Collection code of ${esc(p.number)}" autocomplete="off"><button class="handover-go">Hand over</button></form></li>`,
      )
      .join("");
    const empty = this.state.pickups ? "<li>None waiting.</li>" : "<li>Loading…</li>";
    return `<section><h1>Pick-ups ready</h1><ul id="pickups">${rows || empty}</ul>
      <button data-action="screen" data-screen="sell">Back (Esc)</button></section>`;
  }

  async load(key, path) {
    try {
      this.state[key] = await api("GET", path);
    } catch (err) {
      this.state[key] = [];
      this.state.error = err.message;
    }
    this.render();
  }

  // --- drawer ---

  view_drawer() {
    const x = this.state.x ? `<pre id="x-report">${esc(JSON.stringify(this.state.x, null, 1))}</pre>` : "";
    const z = this.state.z ? `<div id="z-report"><h2>Z report ${esc(this.state.z.number)}</h2>
      <p>Expected <span id="z-expected">${esc(this.state.z.expected_cash)}</span> · Counted <span id="z-counted">${esc(this.state.z.counted_total)}</span> · Over/short <strong id="z-over-short">${esc(this.state.z.over_short)}</strong></p></div>` : "";
    return `<section><h1>Drawer</h1>
      <form id="drawer-open" class="inline"><input name="float" placeholder="Float" id="float" autofocus><button>Open drawer</button></form>
      <form id="drawer-paid" class="inline"><select name="kind"><option value="in">Paid in</option><option value="out">Paid out</option></select>
        <input name="amount" placeholder="Amount"><input name="reason" placeholder="Reason"><button>Record</button></form>
      <button data-action="x-report" id="x-go">X report</button>
      <form id="drawer-close"><p>Count the drawer (number of each note/coin):</p>
        ${["100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"].map((d) => `<label>${d} <input name="${d}" size="3" data-denom="${d}" class="denom"></label>`).join("")}
        <button id="close-go">Close drawer (Z report)</button></form>
      ${x}${z}
      <button data-action="screen" data-screen="sell">Back (Esc)</button></section>`;
  }

  // --- events ---

  async onSubmit(e) {
    e.preventDefault();
    const form = e.target;
    const data = Object.fromEntries(new FormData(form, e.submitter).entries());
    try {
      if (form.id === "pair-form") await this.pair(data.code);
      else if (form.id === "signin-form") await this.signIn(data.cashier, data.pin);
      else if (form.id === "scan-form") {
        form.querySelector("#scan").value = ""; // read: the next scan may start now
        await this.scan(data.q);
      }
      else if (form.id === "tender-form") this.addTender(data.type || "cash", data.amount, data.ref);
      else if (form.id === "email-form") {
        const r = this.lastReceipt;
        if (r.offline) throw new Error("This sale is still waiting to reach the server; e-mail it later.");
        await api("POST", `/pos/sales/${r.order_id}/email`, { email: data.email });
        this.show("receipt", { message: `Receipt sent to ${data.email}` });
      } else if (form.id === "find-form") await this.findOrders(data.q);
      else if (form.id === "approve-form") await this.approve(data);
      else if (form.id === "exch-scan-form") await this.exchangeScan(data.q);
      else if (form.id === "exchange-form") await this.exchangeComplete(data);
      else if (form.classList.contains("handover")) {
        if (!(data.code || "").trim()) throw new Error("Type the customer's collection code.");
        const r = await api("POST", `/pos/pickups/${encodeURIComponent(form.dataset.number)}/hand-over`, { code: data.code });
        this.state.pickups = null;
        this.show("pickups", { message: `${r.number} handed over.` });
      } else if (form.id === "drawer-open") {
        const s = await api("POST", "/pos/drawer/open", { float: data.float });
        this.show("drawer", { message: `Drawer open with ${s.float}` });
      } else if (form.id === "drawer-paid") {
        const m = await api("POST", "/pos/drawer/paid", { kind: data.kind, amount: data.amount, reason: data.reason });
        this.show("drawer", { message: `Paid ${m.kind} ${m.amount}` });
      } else if (form.id === "drawer-close") {
        const counted = {};
        for (const [k, v] of Object.entries(data)) if (v && Number(v) > 0) counted[k] = Number(v);
        this.show("drawer", { z: await api("POST", "/pos/drawer/close", { counted }), x: null });
      }
    } catch (err) {
      this.fail(err);
    }
  }

  async onClick(e) {
    const btn = e.target.closest("[data-action]");
    if (!btn) {
      const row = e.target.closest("tr[data-line]");
      if (row) this.show("sell", { selected: Number(row.dataset.line) });
      return;
    }
    const a = btn.dataset.action;
    try {
      if (a === "screen") this.show(btn.dataset.screen, { found: null, pickups: null, orders: null, x: null, z: null });
      else if (a === "add") {
        this.sale.add(await db.get("variants", Number(btn.dataset.id)));
        this.show("sell", { found: null });
      } else if (a === "qty") {
        const line = this.selectedLine();
        const n = line && Number(prompt("Quantity", String(line.quantity)));
        if (line && Number.isInteger(n) && n > 0) line.quantity = n;
        this.show("sell");
      } else if (a === "line-discount") await this.askDiscount("line");
      else if (a === "order-discount") await this.askDiscount("order");
      else if (a === "coupon") {
        const code = prompt("Coupon code");
        if (code) this.sale.coupons.push(code.trim());
        this.show("sell");
      } else if (a === "customer") await this.findCustomer();
      else if (a === "pick-customer") await this.pickCustomer(Number(btn.dataset.id));
      else if (a === "use-customer") {
        const card = this.state.customerCard;
        this.sale.customer = this.state.picked;
        const pts = card.points.map((p) => `${p.points} pts`).join(", ");
        this.show("sell", { card: pts });
      } else if (a === "pay") this.show("pay", { tenders: [] });
      else if (a === "drop-tender") {
        this.state.tenders.splice(Number(btn.dataset.i), 1);
        this.show("pay");
      } else if (a === "complete") await this.complete();
      else if (a === "print") window.print();
      else if (a === "new-sale") {
        this.sale = null;
        this.show("sell", { message: "" });
      } else if (a === "void") {
        this.sale = null;
        this.show("sell");
      } else if (a === "switch") await this.signOut();
      else if (a === "return") await this.takeBack(Number(btn.dataset.order));
      else if (a === "exchange-start") this.startExchange(Number(btn.dataset.order));
      else if (a === "exchange-drop") {
        this.exchange.out.splice(Number(btn.dataset.i), 1);
        await this.exchangeRequote();
      }
      else if (a === "x-report") this.show("drawer", { x: await api("GET", "/pos/drawer/x-report") });
    } catch (err) {
      this.fail(err);
    }
  }

  onKey(e) {
    const screen = this.state.screen;
    if (e.key === "Escape" && screen === "exchange") {
      e.preventDefault();
      this.show("returns", { orders: null, approval: null });
    } else if (e.key === "Escape" && ["pay", "customer", "returns", "pickups", "drawer"].includes(screen)) {
      e.preventDefault();
      this.show("sell");
    } else if (screen === "sell" && e.key === "F2") {
      e.preventDefault();
      this.findCustomer();
    } else if (screen === "sell" && e.key === "F3") {
      e.preventDefault();
      this.querySelector("#act-qty").click();
    } else if (screen === "sell" && e.key === "F4" && this.sale.lines.length) {
      e.preventDefault();
      this.show("pay", { tenders: [] });
    }
  }

  debugApi() {
    // For support and the tests: what the till holds and a forced resend.
    return {
      outbox: () => db.all("outbox"),
      sent: () => db.all("sent"),
      rejected: () => db.all("rejected"),
      offlineUsed: () => db.kvGet("offline_used"),
      flush: () => this.goOnline(),
      resendSent: async () => {
        const results = [];
        for (const item of await db.all("sent")) results.push(await api("POST", "/pos/sales", item.body));
        return results;
      },
      state: () => ({ screen: this.state.screen, online: this.state.online, waiting: this.state.waiting }),
    };
  }
}

Object.assign(PosApp.prototype, ReturnScreens);
customElements.define("pos-app", PosApp);
