// The fiscal hash chain on the device, byte for byte like core/fiscal.py:
// hash = sha256(previous hash + canonical JSON of the document's fields),
// canonical JSON = sorted keys (by code point), no spaces, UTF-8, Decimals as
// normalised text, date-times in UTC with microseconds.

import { Dec } from "./decimal.js";

export const GENESIS_HASH = "0".repeat(64);

function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isoMicro(date) {
  // Python: value.astimezone(UTC).isoformat(timespec="microseconds")
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000+00:00");
}

export function canonicalJson(value) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (value instanceof Dec) {
    const text = value.normalize().toFixedText();
    return JSON.stringify(text === "-0" || text === "" ? "0" : text);
  }
  if (value instanceof Date) return JSON.stringify(isoMicro(value));
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError("cannot put a float in a fiscal document; use a Dec");
    return String(value);
  }
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  throw new TypeError(`cannot put ${typeof value} in a fiscal document`);
}

export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function chainHash(previousHash, fields) {
  return sha256Hex(previousHash + canonicalJson(fields));
}
