// <pos-receipt>: the last sale's receipt on screen, laid out for an 80 mm
// printer (pos.css @media print hides everything else).

import { code128Svg } from "./barcode.js";

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

class PosReceipt extends HTMLElement {
  connectedCallback() {
    const app = this.closest("pos-app");
    const r = app && app.lastReceipt;
    const profile = app && app.profile;
    if (!r || !profile) return;
    const priced = r.priced;
    const lines = (priced ? priced.lines : [])
      .map((l, i) => {
        const desc = r.body.lines[i] ? l.sku : l.sku;
        const reasons = l.discounts.map((d) => `<div class="reason">${esc(d.reason)} −${esc(d.amount)}</div>`).join("");
        return `<tr><td>${l.quantity} × ${esc(desc)}${reasons}</td><td class="num">${esc(l.gross)}</td></tr>`;
      })
      .join("");
    const tenders = r.body.tenders
      .map((t) => `<tr><td>${esc(t.type)}${t.offline_capture ? " (to capture)" : ""}</td><td class="num">${esc(t.amount)}</td></tr>`)
      .join("");
    const total = r.total_gross ?? (priced ? priced.totals.gross : "");
    this.innerHTML = `<div class="receipt" id="receipt-paper">
      <h2>${esc(profile.store_name)}</h2><p>${esc(profile.store_address)}</p>
      <p>${esc(profile.company)} ${esc(profile.tax_id)}</p>
      <p>Receipt <strong id="receipt-number">${esc(r.receipt_number)}</strong>${r.offline ? " <em>(offline)</em>" : ""}</p>
      <p>${esc(new Date().toLocaleString())} · ${esc(r.cashier)}</p>
      ${r.customer ? `<p>Customer: ${esc(r.customer.name)}</p>` : ""}
      <table>${lines}
        <tr class="sum"><th>Total ${esc(profile.currency)}</th><th class="num" id="receipt-total">${esc(total)}</th></tr>
        ${priced ? `<tr><td>of which tax</td><td class="num">${esc(priced.totals.tax)}</td></tr>` : ""}
        ${tenders}
        <tr><td>Change</td><td class="num" id="receipt-change">${esc(r.change)}</td></tr>
      </table>
      ${(r.warnings || []).length ? `<p class="warn">${r.warnings.map(esc).join("<br>")}</p>` : ""}
      <div id="receipt-barcode" data-value="${esc(r.receipt_number)}">${r.receipt_number ? code128Svg(String(r.receipt_number)) : ""}</div>
      <p class="hash">${esc((r.receipt_hash || "").slice(0, 16))}</p>
      <p>Thank you!</p></div>`;
  }
}

customElements.define("pos-receipt", PosReceipt);
