/**
 * A local HTTP server speaking the wire formats of Ollama's POST /api/embed
 * ({model, input[]} → {model, embeddings[][]}) and OpenAI's POST /v1/embeddings
 * ({model, input[]} → {object: 'list', data: [{object: 'embedding', index, embedding}], model, usage}),
 * with a switchable fault. Its vectors are a deterministic function of the text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashedEmbedding } from '../../src/memory/hashed.js';

export type Fault = 'none' | 'down500' | 'unknown-model' | 'unauthorized' | 'hang' | 'not-json' | 'wrong-count' | 'wrong-dims' | 'nan';

export interface EmbedServer {
  url: string;
  /** Requests received: path, body, authorization header. */
  requests: { path: string; body: any; authorization?: string }[];
  fault: Fault;
  dims: number;
  close(): Promise<void>;
}

/** The fake model's vector of a text: the built-in embedding folded to `dims`, so results stay meaningful. */
export function fakeVector(text: string, dims: number): number[] {
  const full = hashedEmbedding(text.replace(/^search_(query|document): /, ''));
  const v = new Array<number>(dims).fill(0);
  full.forEach((x, i) => (v[i % dims]! += x));
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

export async function startEmbedServer(opts: { dims?: number; apiKey?: string } = {}): Promise<EmbedServer> {
  const s: EmbedServer = { url: '', requests: [], fault: 'none', dims: opts.dims ?? 48, close: async () => {} };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      let body: any = null;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      s.requests.push({ path: req.url ?? '', body, authorization: req.headers.authorization });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      const ollama = req.url === '/api/embed';
      const openai = req.url === '/v1/embeddings';
      if (req.method !== 'POST' || (!ollama && !openai)) return send(404, ollama ? { error: 'not found' } : { error: { message: 'not found', type: 'invalid_request_error' } });
      if (opts.apiKey && openai && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      switch (s.fault) {
        case 'hang':
          return; // never answers
        case 'down500':
          return send(500, ollama ? { error: 'llama runner process has terminated' } : { error: { message: 'The server had an error', type: 'server_error' } });
        case 'unknown-model':
          return send(404, ollama ? { error: `model "${body.model}" not found, try pulling it first` } : { error: { message: `The model \`${body.model}\` does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
        case 'unauthorized':
          return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
        case 'not-json':
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>proxy error</html>');
        default:
      }
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
      let vectors = inputs.map((t) => fakeVector(t, s.dims));
      if (s.fault === 'wrong-count') vectors = vectors.slice(0, Math.max(0, vectors.length - 1));
      if (s.fault === 'wrong-dims') vectors = vectors.map((v) => v.slice(0, s.dims - 1));
      if (s.fault === 'nan') vectors = vectors.map((v) => [Number.NaN, ...v.slice(1)]);
      const asJson = (v: number[]) => v.map((x) => (Number.isNaN(x) ? 'NaN' : x));
      if (ollama) return send(200, { model: body.model, embeddings: vectors.map(asJson), total_duration: 1000, prompt_eval_count: inputs.length });
      // OpenAI: data in reverse order, as the format allows (clients must use `index`).
      return send(200, {
        object: 'list',
        data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: asJson(v) })).reverse(),
        model: body.model,
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return s;
}
