// Returns and exchanges at the counter (screens of <pos-app>): find a sale
// of any channel by receipt (scanned or typed), order number or customer;
// choose lines; refund to the original tender or as store credit; or
// exchange them for other goods, the customer paying or getting back the
// difference. A refund above the cashier's limit asks for a manager's PIN.

import { api, ApiError } from "./api.js";
import * as db from "./db.js";
import { D, dsum } from "./decimal.js";
import { newUuid } from "./sale.js";

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const needsApproval = (err) => err instanceof ApiError && err.status === 403 && err.code === "approval_required";

export const ReturnScreens = {
  view_returns() {
    const orders = (this.state.orders || [])
      .map(
        (o) => `
      <fieldset class="order" data-order="${o.order_id}"><legend>#${o.order_id} · ${esc(o.channel)} · ${esc(o.receipt_number || o.external_id)} · ${esc(o.customer)} · ${esc(o.total_gross)} ${esc(o.currency)} · paid by ${esc(o.tenders.join(", ") || "—")}</legend>
      ${o.lines
        .map(
          (l) => `<label>${esc(l.description)} (${esc(l.sku)}) — returnable ${l.returnable}
        <input type="number" min="0" max="${l.returnable}" value="0" data-line="${l.line_id}" data-sku="${esc(l.sku)}" class="ret-qty" ${l.returnable ? "" : "disabled"}></label>`,
        )
        .join("")}
      <label>Refund <select class="ret-method"><option value="original">to the original tender</option><option value="store_credit">as store credit</option></select></label>
      <button data-action="return" data-order="${o.order_id}" class="ret-go">Take back</button>
      <button data-action="exchange-start" data-order="${o.order_id}" class="exch-start">Exchange</button></fieldset>`,
      )
      .join("");
    const found = this.state.orders && !this.state.orders.length ? `<p id="none-found">No sale found.</p>` : "";
    return `<section><h1>Returns</h1>
      <form id="find-form"><input id="find" name="q" autofocus autocomplete="off" placeholder="Scan the receipt, or type an order number or a customer"><button>Find</button></form>
      ${found}${orders}${this.approvalForm()}
      ${this.state.returnDone ? this.returnDoneView(this.state.returnDone) : ""}
      <button data-action="screen" data-screen="sell">Back (Esc)</button></section>`;
  },

  returnDoneView(ret) {
    const how = ret.refund_method === "store_credit" ? "as store credit" : "to the original tender";
    return `<p id="return-done">Return <strong id="return-number">${esc(ret.number)}</strong>: <span id="return-amount">${esc(ret.refund_amount)}</span> ${esc(ret.currency)} refunded ${how}.</p>`;
  },

  async findOrders(q) {
    const text = (q || "").trim();
    if (!text) return this.show("returns", { error: "Scan the receipt or type an order number." });
    const orders = await api("GET", `/pos/orders/find?q=${encodeURIComponent(text)}`);
    this.show("returns", { orders, returnDone: null, approval: null });
  },

  chosenLines(orderId) {
    const box = this.querySelector(`fieldset[data-order="${orderId}"]`);
    const order = (this.state.orders || []).find((o) => o.order_id === orderId);
    const lines = [...box.querySelectorAll(".ret-qty")]
      .filter((i) => Number(i.value) > 0)
      .map((i) => {
        const line = order.lines.find((l) => l.line_id === Number(i.dataset.line));
        return { line_id: line.line_id, quantity: Number(i.value), condition: "restock", line };
      });
    return { box, order, lines };
  },

  // The refund asked for, for the manager to see (the server's figure is exact).
  refundEstimate(lines) {
    return dsum(lines.map((l) => D(l.line.gross).mul(l.quantity).div(l.line.quantity))).quantize(-2, "half_up");
  },

  async takeBack(orderId) {
    const { box, order, lines } = this.chosenLines(orderId);
    if (!lines.length) return this.show("returns", { error: "Choose how many units come back." });
    const body = {
      order_id: orderId,
      location: this.profile.location,
      lines: lines.map(({ line_id, quantity, condition }) => ({ line_id, quantity, condition })),
      refund_method: box.querySelector(".ret-method").value,
      client_uuid: newUuid(),
    };
    await this.sendReturn(body, order, this.refundEstimate(lines));
  },

  async sendReturn(body, order, estimate) {
    try {
      const ret = await api("POST", "/returns", body);
      this.show("returns", { orders: [], returnDone: ret, approval: null, message: `Return ${ret.number} done.` });
    } catch (err) {
      if (!needsApproval(err)) throw err;
      await this.askApproval({
        screen: "returns",
        amount: estimate,
        order_id: order.order_id,
        text: err.message,
        retry: (managerId) => this.sendReturn({ ...body, approved_by_user_id: managerId }, order, estimate),
      });
    }
  },

  // --- a manager's approval of a refund above the cashier's limit ---

  async askApproval(approval) {
    if (!this.state.managers) {
      const staff = await api("GET", "/pos/cashiers");
      this.state.managers = staff.filter((c) => c.role !== "cashier" && c.cashier_id !== this.cashier.cashier_id);
    }
    this.approval = approval;
    this.show(approval.screen, { approval: true, error: approval.text });
  },

  approvalForm() {
    if (!this.state.approval || !this.approval) return "";
    const options = (this.state.managers || []).map((m) => `<option value="${m.cashier_id}">${esc(m.name)} — ${esc(m.role)}</option>`).join("");
    return `<form id="approve-form" class="card"><h2>Manager approval: refund of ${esc(this.approval.amount)} ${esc(this.profile.currency)}</h2>
      <label>Manager <select id="approve-manager" name="manager">${options}</select></label>
      <label>Manager's PIN <input id="approve-pin" name="pin" type="password" inputmode="numeric" autocomplete="off" autofocus></label>
      <label>Why <input id="approve-reason" name="reason" value="refund above the cashier's limit" autocomplete="off"></label>
      <button id="approve-go">Approve</button></form>`;
  },

  async approve(data) {
    const a = this.approval;
    if (!a) return;
    const ok = await api("POST", "/pos/overrides", {
      kind: "refund",
      manager_id: Number(data.manager),
      pin: data.pin || "",
      amount: a.amount.toString(),
      reason: data.reason || "",
      sale_ref: String(a.order_id),
    });
    this.approval = null;
    this.state.approval = null;
    this.state.message = `Approved by ${ok.manager_name}`;
    await a.retry(ok.manager_id);
  },

  // --- exchanges ---

  startExchange(orderId) {
    const { order, lines } = this.chosenLines(orderId);
    if (!lines.length) return this.show("returns", { error: "Choose the units that come back, then Exchange." });
    this.exchange = { order, back: lines, out: [], quote: null, uuid: newUuid(), done: null };
    this.show("exchange", { approval: null });
  },

  view_exchange() {
    const x = this.exchange;
    const back = x.back.map((l) => `<li>${l.quantity} × ${esc(l.line.description)} (${esc(l.line.sku)})</li>`).join("");
    const out = x.out.map((l, i) => `<tr data-out="${i}"><td>${esc(l.variant.name)}<div class="sku">${esc(l.variant.sku)}</div></td><td class="num">${l.quantity}</td><td class="num">${esc(l.variant.price)}</td><td><button data-action="exchange-drop" data-i="${i}">×</button></td></tr>`).join("");
    const q = x.quote;
    let pay = "";
    if (x.done) {
      pay = `<p id="exchange-done">Exchange <strong id="exchange-return">${esc(x.done.return_number)}</strong> · new sale #<span id="exchange-order">${x.done.replacement_order_id}</span> · change <strong id="exchange-change">${esc(x.done.change)}</strong></p>
        <button data-action="new-sale" id="exchange-next" autofocus>New sale (Enter)</button>`;
    } else if (q && D(q.customer_pays).gt(0)) {
      pay = `<form id="exchange-form"><label>Cash handed over <input id="exch-cash" name="cash" value="${esc(q.customer_pays)}" autocomplete="off"></label>
        <button id="exch-go">Take ${esc(q.customer_pays)} and complete</button></form>`;
    } else if (q && D(q.store_refunds).gt(0)) {
      pay = `<form id="exchange-form"><label>Refund the difference <select id="exch-method" name="method"><option value="original">to the original tender</option><option value="store_credit">as store credit</option></select></label>
        <button id="exch-go">Refund ${esc(q.store_refunds)} and complete</button></form>`;
    } else if (q) {
      pay = `<form id="exchange-form"><button id="exch-go">Complete the exchange (even)</button></form>`;
    }
    const quote = q
      ? `<p id="exch-quote">Returned <span id="exch-returned">${esc(q.refund_total)}</span> · Replacement <span id="exch-replacement">${esc(q.replacement_total)}</span> ·
        Customer pays <strong id="exch-pays">${esc(q.customer_pays)}</strong> · Store refunds <strong id="exch-refunds">${esc(q.store_refunds)}</strong> ${esc(q.currency)}</p>`
      : "";
    return `<section><h1>Exchange — order #${x.order.order_id}</h1>
      <h2>Coming back</h2><ul id="exch-back">${back}</ul>
      <h2>Handed over instead</h2>
      ${x.done ? "" : `<form id="exch-scan-form"><input id="exch-scan" name="q" autocomplete="off" ${q ? "" : "autofocus"} placeholder="Scan the replacement — Enter" aria-label="Scan the replacement"></form>`}
      <table id="exch-out"><tbody>${out}</tbody></table>
      ${quote}${pay}${this.approvalForm()}
      <button data-action="screen" data-screen="returns">Back (Esc)</button></section>`;
  },

  exchangeBody() {
    const x = this.exchange;
    return {
      order_id: x.order.order_id,
      return_lines: x.back.map(({ line_id, quantity, condition }) => ({ line_id, quantity, condition })),
      replacement_lines: x.out.map((l) => (l.variant.barcode ? { barcode: l.variant.barcode, quantity: l.quantity } : { sku: l.variant.sku, quantity: l.quantity })),
    };
  },

  async exchangeScan(text) {
    const q = (text || "").trim();
    if (!q) return;
    const variant = (await db.byIndex("variants", "barcode", q)) || (await db.byIndex("variants", "sku", q));
    if (!variant || !variant.active) return this.show("exchange", { error: `Nothing matches “${q}”; scan the item again.` });
    const same = this.exchange.out.find((l) => l.variant.id === variant.id);
    if (same) same.quantity += 1;
    else this.exchange.out.push({ variant, quantity: 1 });
    await this.exchangeRequote();
  },

  async exchangeRequote() {
    const x = this.exchange;
    x.quote = x.out.length ? await api("POST", "/pos/exchanges/quote", this.exchangeBody()) : null;
    this.show("exchange");
  },

  async exchangeComplete(data) {
    const x = this.exchange;
    const body = { ...this.exchangeBody(), client_uuid: x.uuid, tenders: [] };
    if (D(x.quote.customer_pays).gt(0)) {
      let cash;
      try {
        cash = D((data.cash || "").trim().replace(",", "."));
      } catch {
        return this.show("exchange", { error: "Type the cash handed over, e.g. 20.00" });
      }
      if (cash.lt(D(x.quote.customer_pays))) return this.show("exchange", { error: `Take at least ${x.quote.customer_pays}.` });
      body.tenders = [{ type: "cash", amount: cash.quantize(-2).toString() }];
    }
    if (data.method) body.refund_method = data.method;
    await this.sendExchange(body);
  },

  async sendExchange(body) {
    const x = this.exchange;
    try {
      x.done = await api("POST", "/pos/exchanges", body);
      this.show("exchange", { approval: null, message: `Exchange ${x.done.return_number} done.` });
    } catch (err) {
      if (!needsApproval(err)) throw err;
      await this.askApproval({
        screen: "exchange",
        amount: D(x.quote.store_refunds),
        order_id: x.order.order_id,
        text: err.message,
        retry: (managerId) => this.sendExchange({ ...body, approved_by_user_id: managerId }),
      });
    }
  },
};
