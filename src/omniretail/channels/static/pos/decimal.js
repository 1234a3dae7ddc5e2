// Exact decimal arithmetic with the semantics of Python's `decimal` module in
// its default context (28 significant digits, half-even), so the till prices
// to the cent exactly like the server: same values, same scale ("12.50" stays
// "12.50"), same text. Amounts never go through binary floating point.

const PREC = 28;
const TEN = 10n;

function pow10(n) {
  return TEN ** BigInt(n);
}

function digits(c) {
  return (c < 0n ? -c : c).toString().length;
}

// Divide an integer by 10^n with a rounding mode ("half_up", "half_even",
// "down"); `sticky` says non-zero digits were already dropped further right.
function shiftRound(coef, n, mode, sticky = false) {
  if (n <= 0) return coef * pow10(-n);
  const neg = coef < 0n;
  const abs = neg ? -coef : coef;
  const div = pow10(n);
  let q = abs / div;
  const r = abs % div;
  const half = div / 2n;
  let up;
  if (mode === "down") up = false;
  else if (mode === "half_up") up = r >= half;
  else if (mode === "half_even") up = r > half || (r === half && (sticky || q % 2n === 1n));
  else throw new Error(`unknown rounding ${mode}`);
  if (up) q += 1n;
  return neg ? -q : q;
}

export class Dec {
  constructor(coef, exp) {
    this.c = coef; // BigInt, signed
    this.e = exp; // integer exponent
  }

  static of(value) {
    if (value instanceof Dec) return value;
    if (typeof value === "bigint") return new Dec(value, 0);
    if (typeof value === "number") {
      if (!Number.isInteger(value)) throw new TypeError(`send amounts as strings, not floats (${value})`);
      return new Dec(BigInt(value), 0);
    }
    if (typeof value !== "string") throw new TypeError(`${value} is not an amount`);
    const m = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(value);
    if (!m || (m[2] === "" && (m[3] === undefined || m[3] === ""))) {
      throw new TypeError(`${JSON.stringify(value)} is not a number; send e.g. "12.50"`);
    }
    const frac = m[3] || "";
    let coef = BigInt((m[2] || "") + frac || "0");
    if (m[1] === "-") coef = -coef;
    return new Dec(coef, -frac.length + (m[4] ? parseInt(m[4], 10) : 0));
  }

  // Round to the context precision (28 significant digits, half-even).
  static fit(coef, exp) {
    const d = digits(coef);
    if (d <= PREC) return new Dec(coef, exp);
    const drop = d - PREC;
    let c = shiftRound(coef, drop, "half_even");
    let e = exp + drop;
    if (digits(c) > PREC) {
      c = c / TEN;
      e += 1;
    }
    return new Dec(c, e);
  }

  add(other) {
    const b = Dec.of(other);
    const e = Math.min(this.e, b.e);
    return Dec.fit(this.c * pow10(this.e - e) + b.c * pow10(b.e - e), e);
  }

  sub(other) {
    const b = Dec.of(other);
    return this.add(new Dec(-b.c, b.e));
  }

  mul(other) {
    const b = Dec.of(other);
    return Dec.fit(this.c * b.c, this.e + b.e);
  }

  div(other) {
    const b = Dec.of(other);
    if (b.c === 0n) throw new RangeError("division by zero");
    const ideal = this.e - b.e;
    if (this.c === 0n) return new Dec(0n, ideal);
    const neg = this.c < 0n !== b.c < 0n;
    const a = this.c < 0n ? -this.c : this.c;
    const d = b.c < 0n ? -b.c : b.c;
    // Scale the dividend so the quotient has at least PREC + 1 digits.
    let shift = PREC + 1 - (digits(a) - digits(d));
    if (shift < 0) shift = 0;
    const num = a * pow10(shift);
    let q = num / d;
    const r = num % d;
    let e = ideal - shift;
    let result;
    if (r === 0n) {
      // Exact: drop trailing zeros back towards the ideal exponent.
      while (e < ideal && q % TEN === 0n) {
        q /= TEN;
        e += 1;
      }
      result = Dec.fit(q, e);
    } else {
      const dq = digits(q);
      const drop = dq - PREC;
      const c = shiftRound(q, drop, "half_even", true);
      result = new Dec(c, e + drop);
      if (digits(c) > PREC) result = new Dec(c / TEN, e + drop + 1);
    }
    return neg ? result.neg() : result;
  }

  neg() {
    return new Dec(-this.c, this.e);
  }

  cmp(other) {
    const b = Dec.of(other);
    const e = Math.min(this.e, b.e);
    const x = this.c * pow10(this.e - e);
    const y = b.c * pow10(b.e - e);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  lt(o) { return this.cmp(o) < 0; }
  le(o) { return this.cmp(o) <= 0; }
  gt(o) { return this.cmp(o) > 0; }
  ge(o) { return this.cmp(o) >= 0; }
  eq(o) { return this.cmp(o) === 0; }
  isZero() { return this.c === 0n; }
  sign() { return this.c < 0n ? -1 : this.c > 0n ? 1 : 0; }

  // quantize to 10^exp with a rounding mode: "half_up", "half_even", "down".
  quantize(exp, mode = "half_up") {
    if (exp <= this.e) return new Dec(this.c * pow10(this.e - exp), exp);
    return new Dec(shiftRound(this.c, exp - this.e, mode), exp);
  }

  normalize() {
    if (this.c === 0n) return new Dec(0n, 0);
    let c = this.c;
    let e = this.e;
    while (c % TEN === 0n) {
      c /= TEN;
      e += 1;
    }
    return new Dec(c, e);
  }

  // Python's str(Decimal): plain when the exponent is <= 0 and the number is
  // not tiny, scientific otherwise.
  toString() {
    const neg = this.c < 0n;
    const s = (neg ? -this.c : this.c).toString();
    const adjusted = this.e + s.length - 1;
    let out;
    if (this.e <= 0 && adjusted >= -6) {
      if (this.e === 0) out = s;
      else {
        const point = s.length + this.e;
        out = point > 0 ? `${s.slice(0, point)}.${s.slice(point)}` : `0.${"0".repeat(-point)}${s}`;
      }
    } else {
      const mant = s.length > 1 ? `${s[0]}.${s.slice(1)}` : s;
      out = `${mant}E${adjusted >= 0 ? "+" : ""}${adjusted}`;
    }
    return neg ? `-${out}` : out;
  }

  // format(d, "f"): fixed point, never scientific.
  toFixedText() {
    const neg = this.c < 0n;
    const s = (neg ? -this.c : this.c).toString();
    let out;
    if (this.e >= 0) out = s + "0".repeat(this.e);
    else {
      const point = s.length + this.e;
      out = point > 0 ? `${s.slice(0, point)}.${s.slice(point)}` : `0.${"0".repeat(-point)}${s}`;
    }
    return neg ? `-${out}` : out;
  }

  toJSON() {
    return this.toString();
  }
}

export const D = (v) => Dec.of(v);
export const ZERO = new Dec(0n, 0);

export function dsum(values, start = ZERO) {
  return values.reduce((acc, v) => acc.add(v), start);
}

// Python's min(a, b): the first unless the second is strictly smaller.
export function dmin(a, b) {
  return b.lt(a) ? b : a;
}

const MINOR_UNITS = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, BHD: 3, KWD: 3, TND: 3 };

export function minorUnits(currency) {
  return MINOR_UNITS[currency.toUpperCase()] ?? 2;
}

// Decimal(1).scaleb(-n): the exponent of the currency's smallest unit.
export function quantumExp(currency) {
  return -minorUnits(currency);
}

// Split `total` (already rounded to 10^qexp) in proportion to `weights`; the
// rounding difference goes to the largest shares first.
export function allocate(total, weights, qexp) {
  if (!weights.length) return [];
  if (!total.eq(total.quantize(qexp, "half_up"))) {
    throw new Error(`round the total (${total}) before allocating it`);
  }
  if (total.sign() < 0) return allocate(total.neg(), weights, qexp).map((p) => p.neg());
  let ws = weights;
  let wsum = dsum(ws);
  if (wsum.isZero()) {
    ws = weights.map(() => D(1));
    wsum = D(ws.length);
  }
  const raw = ws.map((w) => total.mul(w).div(wsum));
  const parts = raw.map((r) => r.quantize(qexp, "down"));
  let remainder = total.sub(dsum(parts));
  const order = raw.map((_, i) => i);
  order.sort((i, j) => {
    const a = raw[i].sub(parts[i]);
    const b = raw[j].sub(parts[j]);
    const k = b.cmp(a);
    return k !== 0 ? k : ws[j].cmp(ws[i]);
  });
  const step = new Dec(remainder.sign() >= 0 ? 1n : -1n, qexp);
  let i = 0;
  while (!remainder.isZero()) {
    const at = order[i % order.length];
    parts[at] = parts[at].add(step);
    remainder = remainder.sub(step);
    i += 1;
  }
  return parts;
}
