// Code 128 (code set B) as inline SVG, for the receipt number printed under
// the receipt: a keyboard-wedge scanner reads it back as the number and
// Enter, straight into the returns screen's search.

// Bar/space widths in modules of symbol values 0-106 (ISO/IEC 15417); each
// symbol is 11 modules, the stop 13 with its termination bar.
const PATTERNS = [
  "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
  "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
  "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
  "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
  "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
  "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
  "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
  "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
  "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
  "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
  "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];
const START_B = 104;
const STOP = 106;
const QUIET = 10; // modules of white either side

// Symbol values of `text` in code set B: start, characters, checksum, stop.
export function code128Values(text) {
  const values = [START_B];
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (code < 32 || code > 126) throw new Error(`cannot print ${JSON.stringify(ch)} in a barcode`);
    values.push(code - 32);
  }
  const checksum = values.reduce((sum, v, i) => sum + v * Math.max(i, 1), 0) % 103;
  return [...values, checksum, STOP];
}

export function code128Svg(text, { module = 2, height = 50 } = {}) {
  const widths = code128Values(text).flatMap((v) => [...PATTERNS[v]].map(Number));
  let x = QUIET;
  const bars = [];
  widths.forEach((w, i) => {
    if (i % 2 === 0) bars.push(`<rect x="${x * module}" y="0" width="${w * module}" height="${height}"/>`);
    x += w;
  });
  const total = (x + QUIET) * module;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="barcode" viewBox="0 0 ${total} ${height}" width="${total}" height="${height}" role="img" aria-label="${text.replace(/[&<>"]/g, "")}"><rect width="${total}" height="${height}" fill="#fff"/><g fill="#000">${bars.join("")}</g></svg>`;
}
