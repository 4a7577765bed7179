/**
 * The built-in embedder: feature hashing of (crudely stemmed) words and their character trigrams
 * into 512 signed dimensions, L2-normalized; the trigrams of a word together weigh four times the
 * word (measured on the labelled fixture: word pairs only added noise). It knows no meaning (no synonyms), but it needs no download,
 * is deterministic and matches inflections and misspellings that exact word search misses.
 */
export const BUILTIN_MODEL = 'builtin-hashed-ngrams-512';
export const BUILTIN_DIMENSIONS = 512;

const STOPWORDS = new Set(
  ('a an and are as at be but by can do does for from had has have how i if in into is it its me my no not of on or our so ' +
    'than that the their them then there these they this to was we were what when where which who why will with you your')
    .split(' '),
);

/** 32-bit FNV-1a. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A crude English stem: enough to let "invoices" meet "invoice" and "billing" meet "billed". */
function stem(w: string): string {
  if (w.length <= 4) return w;
  for (const suffix of ['ations', 'ation', 'ings', 'ing', 'ies', 'ed', 'es', 'ly', 's']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) return w.slice(0, -suffix.length);
  }
  return w;
}

export function words(text: string): string[] {
  return (text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOPWORDS.has(w));
}

export function hashedEmbedding(text: string, dims = BUILTIN_DIMENSIONS): number[] {
  const features = new Map<string, number>();
  const add = (f: string, w: number) => features.set(f, (features.get(f) ?? 0) + w);
  const ws = words(text).slice(0, 4000);
  for (let i = 0; i < ws.length; i++) {
    const s = stem(ws[i]!);
    add(`w:${s}`, 1);
    const padded = `^${ws[i]}$`;
    const grams = Math.max(1, padded.length - 2);
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 2 / Math.sqrt(grams));
  }
  const v = new Array<number>(dims).fill(0);
  for (const [f, tf] of features) {
    const h = fnv1a(f);
    const weight = 1 + Math.log(tf);
    v[h % dims]! += (h & 0x80000000 ? -1 : 1) * (tf < 1 ? tf : weight);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return norm === 0 ? v : v.map((x) => x / norm);
}
