/**
 * The embedders against a local server speaking Ollama's and OpenAI's embedding wire formats:
 * what they send, what they accept, and the error each fault becomes.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedder, type Embedder } from '../../src/memory/embedders.js';
import { BUILTIN_DIMENSIONS, hashedEmbedding } from '../../src/memory/hashed.js';
import { fakeVector, startEmbedServer, type EmbedServer, type Fault } from '../helpers/embed-server.js';

let server: EmbedServer;

/** A port nobody listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
beforeAll(async () => {
  server = await startEmbedServer({ dims: 48, apiKey: 'sk-test-key' });
});
afterAll(() => server.close());
beforeEach(() => {
  server.fault = 'none';
  server.requests.length = 0;
});

describe('built-in embedder', () => {
  it('is deterministic, normalized, of its stated length, and closer for shared words and inflections', async () => {
    const e = createEmbedder({ provider: 'builtin' });
    const [a, b, c, d] = await e.embed(['overdue invoices for renewal', 'the invoice renewal is overdue', 'team offsite in the mountains', 'overdue invoices for renewal'], 'document');
    expect(a).toHaveLength(BUILTIN_DIMENSIONS);
    expect(a).toEqual(d);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6);
    const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!) + 0.2);
    // a misspelling still lands near the word (character trigrams)
    const r = hashedEmbedding('reimbursement');
    expect(cos(r, hashedEmbedding('reimbursment'))).toBeGreaterThan(cos(r, hashedEmbedding('reconciliation')) + 0.2);
  });

  it('refuses another model name', () => {
    expect(() => createEmbedder({ provider: 'builtin', model: 'nomic-embed-text' })).toThrow(/one model/);
  });
});

describe('Ollama', () => {
  // Generous, so a loaded machine does not time out; the hang case uses a short one.
  const ollama = (timeoutMs = 10_000): Embedder => createEmbedder({ provider: 'ollama', url: server.url, model: 'nomic-embed-text', timeoutMs });

  it('posts {model, input[]} to /api/embed with the nomic task prefixes and reads embeddings[][]', async () => {
    const e = ollama();
    const [q] = await e.embed(['renewal terms'], 'query');
    const docs = await e.embed(['contract A', 'contract B'], 'document');
    expect(server.requests.map((r) => r.path)).toEqual(['/api/embed', '/api/embed']);
    expect(server.requests[0]!.body).toMatchObject({ model: 'nomic-embed-text', input: ['search_query: renewal terms'] });
    expect(server.requests[1]!.body.input).toEqual(['search_document: contract A', 'search_document: contract B']);
    expect(q).toEqual(fakeVector('renewal terms', 48));
    expect(docs).toHaveLength(2);
    expect(e.dimensions).toBe(48);
  });

  it('sends other models the text as it is', async () => {
    await createEmbedder({ provider: 'ollama', url: server.url, model: 'all-minilm' }).embed(['plain'], 'query');
    expect(server.requests[0]!.body.input).toEqual(['plain']);
  });

  const faults: [Fault, RegExp, RegExp][] = [
    ['down500', /answered 500: llama runner process has terminated/, /retried later/],
    ['unknown-model', /answered 404: model "nomic-embed-text" not found/, /ollama pull/],
    ['not-json', /did not answer JSON/, /URL/],
    ['wrong-count', /asked for 2 vectors, got 1/, /retried/],
    ['nan', /not a finite number/, /retried/],
    ['hang', /no answer from .* within 500 ms/, /running/],
  ];
  for (const [fault, message, hint] of faults) {
    it(`${fault}: a clear E_EMBEDDER error`, async () => {
      server.fault = fault;
      const err = await ollama(fault === 'hang' ? 500 : undefined).embed(['a', 'b'], 'document').catch((e) => e);
      expect(err.code).toBe('E_EMBEDDER');
      expect(err.message).toMatch(message);
      expect(err.hint).toMatch(hint);
    });
  }

  it('a vector of another length than before is refused, not stored as something else', async () => {
    const e = ollama();
    await e.embed(['first'], 'document');
    server.fault = 'wrong-dims';
    await expect(e.embed(['second'], 'document')).rejects.toThrow(/47 dimensions where 48 were expected/);
  });

  it('nothing listening: says so and how to start it', async () => {
    const port = await closedPort();
    const e = createEmbedder({ provider: 'ollama', url: `http://127.0.0.1:${port}`, timeoutMs: 20_000 });
    const err = await e.embed(['x'], 'query').catch((x) => x);
    expect(err.code).toBe('E_EMBEDDER');
    expect(err.message).toContain(`cannot reach http://127.0.0.1:${port}/api/embed: ECONNREFUSED`);
    expect(err.hint).toMatch(/ollama serve/);
  });
});

describe('OpenAI-compatible', () => {
  const openai = (apiKey = 'sk-test-key', timeoutMs = 10_000): Embedder => createEmbedder({ provider: 'openai', url: `${server.url}/v1`, model: 'text-embedding-3-small', apiKey, timeoutMs });

  it('posts {model, input[], encoding_format} with the bearer key and orders data by index', async () => {
    const out = await openai().embed(['first text', 'second text', 'third text'], 'document');
    const r = server.requests[0]!;
    expect(r.path).toBe('/v1/embeddings');
    expect(r.authorization).toBe('Bearer sk-test-key');
    expect(r.body).toEqual({ model: 'text-embedding-3-small', input: ['first text', 'second text', 'third text'], encoding_format: 'float' });
    expect(out).toEqual(['first text', 'second text', 'third text'].map((t) => fakeVector(t, 48)));
  });

  it('a base URL without /v1 works too', async () => {
    await createEmbedder({ provider: 'openai', url: server.url, apiKey: 'sk-test-key' }).embed(['x'], 'query');
    expect(server.requests[0]!.path).toBe('/v1/embeddings');
  });

  it('a wrong key: 401 with the provider\'s message and where the key comes from', async () => {
    const err = await openai('sk-wrong').embed(['x'], 'query').catch((e) => e);
    expect(err.message).toMatch(/answered 401: Incorrect API key provided/);
    expect(err.hint).toMatch(/ROBBIEVERSE_EMBED_API_KEY/);
  });

  it('an unknown model and a timeout', async () => {
    server.fault = 'unknown-model';
    await expect(openai().embed(['x'], 'query')).rejects.toThrow(/404: The model `text-embedding-3-small` does not exist/);
    server.fault = 'hang';
    await expect(openai('sk-test-key', 500).embed(['x'], 'query')).rejects.toThrow(/within 500 ms/);
  });

  it('bad settings are refused before any request', () => {
    expect(() => createEmbedder({ provider: 'openai', url: 'ftp://x' })).toThrow(/must be http or https/);
    expect(() => createEmbedder({ provider: 'openai', url: 'https://user:secret@api.example/v1' })).toThrow(/must not hold credentials/);
    expect(() => createEmbedder({ provider: 'ollama', url: 'not a url' })).toThrow(/is not a URL/);
  });
});
