// Relevance scoring for a bounded set of candidate messages, in JS.
//
// Why not FTS5's bm25(): to weight each term it first counts every row that contains it (xQueryPhrase over the whole
// doclist), so a word in 15% of 1M messages costs ~7 ms per query however few rows are ranked (bench/store.ts).
// Here the newest RELEVANCE_WINDOW matches are scored with the same BM25 shape (term-frequency saturation and length
// normalisation, k1 = 1.2, b = 0.75) with every query term weighted equally: for a one-word query that is exactly
// bm25's order; for several words it differs only in not favouring the rarer word.

const K1 = 1.2;
const B = 0.75;
const FTS_OPERATORS = new Set(['AND', 'OR', 'NOT', 'NEAR']);

/** Lower-case words without diacritics, split like FTS5's unicode61 tokenizer (letters and digits). */
export function tokenize(text: string): string[] {
  // Most messages are plain ASCII: skip Unicode normalisation for them (it is most of the cost of scoring).
  if (!/[^\x00-\x7f]/.test(text)) return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

export interface QueryTerm {
  text: string;
  prefix: boolean;
}

/** The words a query asks for (operators, column names and NEAR distances left out). */
export function queryTerms(q: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  for (const m of q.matchAll(/([^\s"():*]+)(\*?)(:?)|"([^"]*)"(\*?)/g)) {
    if (m[3] === ':' || (m[1] && FTS_OPERATORS.has(m[1]))) continue;
    const words = tokenize(m[1] ?? m[4] ?? '');
    const prefix = (m[2] ?? m[5]) === '*';
    words.forEach((text, i) => terms.push({ text, prefix: prefix && i === words.length - 1 }));
  }
  return terms;
}

export interface Candidate {
  seq: number;
  body: string;
}

/** Candidates ordered best first (ties: newest first), each with its score (higher is better). */
export function rankCandidates(q: string, candidates: readonly Candidate[]): Array<{ seq: number; score: number }> {
  const terms = queryTerms(q);
  const docs = candidates.map((c) => ({ seq: c.seq, words: tokenize(c.body) }));
  const avgdl = docs.reduce((n, d) => n + d.words.length, 0) / Math.max(1, docs.length) || 1;
  return docs
    .map(({ seq, words }) => {
      let score = 0;
      for (const t of terms) {
        const tf = words.reduce((n, w) => n + (t.prefix ? (w.startsWith(t.text) ? 1 : 0) : w === t.text ? 1 : 0), 0);
        if (tf > 0) score += (tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * words.length) / avgdl));
      }
      return { seq, score };
    })
    .sort((a, b) => b.score - a.score || b.seq - a.seq);
}
