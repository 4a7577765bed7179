// Writes test/fixtures/memory/relevance.json: a labelled search fixture. 40 subjects, each with
// five documents (sticky notes, chat messages and knowledge articles) written from that
// subject's vocabulary plus everyday business words and now and then a word of another subject;
// one query per subject, phrased the way people type: inflected, abbreviated to a few words, and
// in a third of the queries with a typo. A document is relevant to its subject's query.
// Deterministic (seeded): run `node scripts/memory-fixture.mjs` to regenerate.
import fs from 'node:fs';
import path from 'node:path';

const SUBJECTS = [
  ['refund', 'reimbursement', 'chargeback', 'credit note', 'return window', 'overpayment'],
  ['onboarding', 'laptop', 'badge', 'orientation', 'new hire', 'mentor'],
  ['invoice', 'billing', 'payment terms', 'overdue', 'remittance', 'dunning'],
  ['kubernetes', 'cluster', 'pod', 'helm chart', 'node pool', 'autoscaler'],
  ['trade fair', 'booth', 'exhibition', 'brochure', 'visitors', 'stand design'],
  ['payroll', 'salary', 'bonus', 'tax withholding', 'payslip', 'overtime'],
  ['warehouse', 'pallet', 'forklift', 'inventory', 'stock count', 'loading dock'],
  ['phishing', 'password reset', 'suspicious email', 'two factor', 'credential', 'security training'],
  ['renewal', 'contract', 'subscription', 'price increase', 'notice period', 'auto renew'],
  ['recruiting', 'candidate', 'interview', 'job posting', 'offer letter', 'referral'],
  ['database migration', 'schema', 'rollback', 'downtime', 'replica', 'backfill'],
  ['marketing campaign', 'newsletter', 'open rate', 'audience segment', 'landing page', 'conversion'],
  ['office move', 'lease', 'movers', 'floor plan', 'furniture', 'keys'],
  ['customer churn', 'cancellation', 'retention offer', 'exit survey', 'win back', 'health score'],
  ['quarterly forecast', 'pipeline', 'revenue target', 'bookings', 'quota', 'commit'],
  ['travel expenses', 'hotel', 'flight', 'per diem', 'receipt', 'mileage'],
  ['vendor audit', 'compliance', 'questionnaire', 'certification', 'evidence', 'auditor'],
  ['mobile app release', 'app store', 'beta testers', 'crash report', 'version', 'review'],
  ['team offsite', 'venue', 'agenda', 'workshop', 'dinner', 'transport'],
  ['support escalation', 'ticket', 'severity', 'on call', 'response time', 'root cause'],
  ['pricing page', 'tier', 'discount', 'annual plan', 'seat', 'free trial'],
  ['data privacy', 'consent', 'retention policy', 'deletion request', 'personal data', 'processor'],
  ['hiring freeze', 'headcount', 'budget cut', 'backfill role', 'approval', 'contractor'],
  ['product roadmap', 'milestone', 'feature request', 'prioritization', 'quarter', 'launch'],
  ['insurance claim', 'damage', 'adjuster', 'deductible', 'policy number', 'photos'],
  ['parental leave', 'maternity', 'paternity', 'return to work', 'benefits', 'coverage'],
  ['server outage', 'incident', 'status page', 'postmortem', 'latency', 'failover'],
  ['partner program', 'reseller', 'commission', 'co marketing', 'partner portal', 'tier'],
  ['shipping delay', 'courier', 'tracking number', 'customs', 'delivery date', 'backorder'],
  ['board meeting', 'minutes', 'resolution', 'directors', 'quorum', 'deck'],
  ['code review', 'pull request', 'reviewer', 'merge conflict', 'lint', 'approval'],
  ['energy bill', 'electricity', 'heating', 'meter reading', 'tariff', 'supplier'],
  ['social media', 'post', 'followers', 'engagement', 'hashtag', 'schedule'],
  ['employee survey', 'engagement score', 'feedback', 'anonymous', 'results', 'action plan'],
  ['cloud costs', 'reserved instances', 'storage', 'egress', 'budget alert', 'rightsizing'],
  ['legal dispute', 'lawsuit', 'settlement', 'counsel', 'deposition', 'claim'],
  ['website redesign', 'wireframe', 'mockup', 'navigation', 'accessibility', 'homepage'],
  ['sales demo', 'prospect', 'discovery call', 'objection', 'follow up', 'champion'],
  ['laptop repair', 'broken screen', 'warranty', 'replacement', 'service desk', 'loaner'],
  ['annual report', 'shareholders', 'financial statements', 'auditor opinion', 'highlights', 'letter'],
];

const FILLER = ['team', 'customer', 'week', 'update', 'plan', 'meeting', 'Monday', 'Friday', 'please', 'today', 'tomorrow', 'numbers', 'office', 'project', 'status', 'notes', 'thanks', 'quick', 'question', 'details'];
const TEMPLATES = [
  (a, b, c, f) => `Quick ${f[0]} on the ${a}: the ${b} is still open and the ${c} needs a decision.`,
  (a, b, c, f) => `${cap(a)} ${f[1]}: we discussed ${b} and ${c} with the ${f[2]}.`,
  (a, b, c, f) => `Can someone check the ${b} for the ${a}? The ${c} came up in the ${f[0]} ${f[3]}.`,
  (a, b, c, f) => `Reminder for ${f[1]}: ${a} — follow the ${b} checklist, then confirm the ${c}.`,
  (a, b, c, f) => `Summary of the ${a} ${f[2]}: ${b}, ${c}, and the next ${f[0]} steps.`,
];
const KINDS = ['note', 'message', 'knowledge', 'note', 'message'];

let seed = 20261207;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const cap = (s) => s[0].toUpperCase() + s.slice(1);

/** A plausible typo: two neighbouring letters swapped, or one dropped, inside the longest word. */
function typo(phrase) {
  const words = phrase.split(' ');
  const i = words.reduce((best, w, k) => (w.length > words[best].length ? k : best), 0);
  const w = words[i];
  const at = 1 + Math.floor(rand() * (w.length - 3));
  words[i] = rand() < 0.5 ? w.slice(0, at) + w[at + 1] + w[at] + w.slice(at + 2) : w.slice(0, at) + w.slice(at + 1);
  return words.join(' ');
}

/** An inflected form as people type it: plural or -ing where it reads naturally. */
function inflect(term) {
  const last = term.split(' ').pop();
  if (/(s|ing)$/.test(last)) return term;
  return term.replace(/(\w+)$/, (w) => (/[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}ies` : `${w}s`));
}

const docs = [];
const queries = [];
SUBJECTS.forEach((terms, s) => {
  const ids = [];
  for (let d = 0; d < 5; d++) {
    const [a, b, c] = [terms[0], terms[1 + ((d + 0) % 5)], terms[1 + ((d + 2) % 5)]];
    const f = [pick(FILLER), pick(FILLER), pick(FILLER), pick(FILLER)];
    let text = TEMPLATES[d](a, b, c, f);
    // Now and then a word of another subject, as real notes wander.
    if (rand() < 0.4) text += ` Also: the ${pick(SUBJECTS[(s + 1 + Math.floor(rand() * 38)) % 40].slice(1))} question is parked.`;
    const id = `d${String(s).padStart(2, '0')}${d}`;
    const kind = KINDS[(s + d) % KINDS.length];
    docs.push({ id, kind, title: kind === 'knowledge' ? `${cap(a)}: ${b}` : null, text });
    ids.push(id);
  }
  // The query: two of the subject's words (its main one in every other query), inflected; every
  // third one with a typo.
  let q = s % 2 === 0 ? `${inflect(terms[0])} ${terms[1 + (s % 5)]}` : `${inflect(terms[1 + (s % 5)])} ${terms[1 + ((s + 3) % 5)]}`;
  if (s % 3 === 2) q = typo(q);
  queries.push({ id: `q${String(s).padStart(2, '0')}`, text: q, relevant: ids });
});

const out = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'memory', 'relevance.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ about: 'Labelled search fixture: 200 documents, 40 queries; a document is relevant to its subject\'s query. Generated by scripts/memory-fixture.mjs.', docs, queries }, null, 1) + '\n');
console.log(`wrote ${out}: ${docs.length} documents, ${queries.length} queries`);
