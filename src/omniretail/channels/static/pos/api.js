// Calls to the server with the till's terminal key and the cashier token.
// A network failure (server unreachable) is an OfflineError: the caller
// decides whether the action can go on without the server.

import { kvGet } from "./db.js";

export class OfflineError extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code;
    this.field = err.field;
    this.body = body;
  }
}

let cashierToken = null;
export function setCashierToken(token) {
  cashierToken = token;
}

export async function api(method, path, body = undefined, { timeoutMs = 8000 } = {}) {
  const key = await kvGet("terminal_key");
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (cashierToken) headers["X-Cashier-Token"] = cashierToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      cache: "no-store",
    });
  } catch (err) {
    throw new OfflineError(`server unreachable (${err.message})`);
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: { message: text.slice(0, 200) } };
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
