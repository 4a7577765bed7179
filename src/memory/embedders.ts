/**
 * Embedders: text → vectors, behind one interface. Three providers: the built-in offline one
 * (feature hashing, no download), Ollama's HTTP API and OpenAI-compatible `/v1/embeddings`.
 * Every answer is checked before anyone stores it: one finite vector per input, all of the
 * model's length. A provider that is down, slow or answers badly raises E_EMBEDDER.
 */
import { RobbieverseError } from '../errors.js';
import { BUILTIN_DIMENSIONS, BUILTIN_MODEL, hashedEmbedding } from './hashed.js';

export type EmbedPurpose = 'query' | 'document';
export type ProviderName = 'builtin' | 'ollama' | 'openai';
export const PROVIDERS: readonly ProviderName[] = ['builtin', 'ollama', 'openai'];

export interface Embedder {
  readonly provider: ProviderName;
  /** The embedding_models key the vectors are stored under. */
  readonly model: string;
  /** Where the provider answers (no credentials); null for the built-in one. */
  readonly endpoint: string | null;
  /** Known length, or null until the provider's first answer says it. */
  dimensions: number | null;
  embed(texts: string[], purpose: EmbedPurpose): Promise<number[][]>;
}

export interface EmbedderSettings {
  provider: ProviderName;
  model?: string;
  url?: string;
  apiKey?: string;
  timeoutMs?: number;
}

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
export const DEFAULT_OLLAMA_MODEL = 'nomic-embed-text';
export const DEFAULT_OPENAI_URL = 'https://api.openai.com/v1';
export const DEFAULT_OPENAI_MODEL = 'text-embedding-3-small';
export const DEFAULT_EMBED_TIMEOUT_MS = 30_000;

export function createEmbedder(s: EmbedderSettings): Embedder {
  switch (s.provider) {
    case 'builtin':
      if (s.model && s.model !== BUILTIN_MODEL) {
        throw new RobbieverseError('E_CONFIG', `the built-in embedder has one model, ${BUILTIN_MODEL}, not "${s.model}"`, {
          hint: 'leave the model unset, or choose the ollama or openai provider for other models',
        });
      }
      return builtinEmbedder();
    case 'ollama':
      return httpEmbedder('ollama', s.model ?? DEFAULT_OLLAMA_MODEL, checkUrl(s.url ?? DEFAULT_OLLAMA_URL), s);
    case 'openai':
      return httpEmbedder('openai', s.model ?? DEFAULT_OPENAI_MODEL, checkUrl(s.url ?? DEFAULT_OPENAI_URL), s);
  }
}

export function builtinEmbedder(): Embedder {
  return {
    provider: 'builtin',
    model: BUILTIN_MODEL,
    endpoint: null,
    dimensions: BUILTIN_DIMENSIONS,
    embed: async (texts) => texts.map((t) => hashedEmbedding(t)),
  };
}

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RobbieverseError('E_CONFIG', `embedder URL "${url}" is not a URL`, { hint: 'example: http://127.0.0.1:11434' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RobbieverseError('E_CONFIG', `embedder URL "${url}" must be http or https`, { hint: 'example: http://127.0.0.1:11434' });
  }
  if (u.username || u.password) {
    throw new RobbieverseError('E_CONFIG', 'the embedder URL must not hold credentials', { hint: 'give an API key with ROBBIEVERSE_EMBED_API_KEY' });
  }
  return u.toString().replace(/\/+$/, '');
}

/** nomic-embed-text was trained with task prefixes; other models take the text as it is. */
function withPrefix(model: string, text: string, purpose: EmbedPurpose): string {
  if (!/^nomic-embed-text/.test(model)) return text;
  return `${purpose === 'query' ? 'search_query' : 'search_document'}: ${text}`;
}

function httpEmbedder(provider: 'ollama' | 'openai', model: string, endpoint: string, s: EmbedderSettings): Embedder {
  const timeoutMs = s.timeoutMs ?? DEFAULT_EMBED_TIMEOUT_MS;
  const e: Embedder = {
    provider,
    model,
    endpoint,
    dimensions: null,
    async embed(texts, purpose) {
      if (texts.length === 0) return [];
      const input = texts.map((t) => withPrefix(model, t, purpose));
      const url = provider === 'ollama' ? `${endpoint}/api/embed` : `${endpoint.replace(/\/v1$/, '')}/v1/embeddings`;
      const body = provider === 'ollama' ? { model, input, truncate: true } : { model, input, encoding_format: 'float' };
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (s.apiKey) headers.authorization = `Bearer ${s.apiKey}`;
      const answer = await post(provider, url, headers, body, timeoutMs);
      const vectors = provider === 'ollama' ? ollamaVectors(answer) : openaiVectors(answer, texts.length);
      checkVectors(provider, model, vectors, texts.length, e.dimensions);
      e.dimensions ??= vectors[0]!.length;
      return vectors;
    },
  };
  return e;
}

function fail(provider: string, message: string, hint: string, cause?: unknown): never {
  throw new RobbieverseError('E_EMBEDDER', `${provider} embedder: ${message}`, { hint, cause });
}

async function post(provider: string, url: string, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
    const why = e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message;
    if (e.name === 'TimeoutError') fail(provider, `no answer from ${url} within ${timeoutMs} ms`, 'check that the provider is running and not overloaded, or raise the timeout (embedTimeoutMs)', err);
    fail(provider, `cannot reach ${url}: ${why}`, provider === 'ollama' ? 'start it (ollama serve) and pull the model (ollama pull nomic-embed-text)' : 'check the URL and the network', err);
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const detail = errorMessage(json) ?? text.slice(0, 300);
    const hint =
      res.status === 401 || res.status === 403 ? 'check the API key (ROBBIEVERSE_EMBED_API_KEY)'
      : res.status === 404 ? (provider === 'ollama' ? 'pull the model first (ollama pull <model>) or check the URL' : 'check the URL and the model name')
      : res.status === 429 ? 'the provider is rate-limiting: the rows are retried later'
      : 'the rows stay queued and are retried later';
    fail(provider, `${url} answered ${res.status}${detail ? `: ${detail}` : ''}`, hint);
  }
  if (json === undefined) fail(provider, `${url} did not answer JSON`, 'check that the URL points at the provider\'s API');
  return json;
}

function errorMessage(json: unknown): string | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const e = (json as { error?: unknown }).error;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  return undefined;
}

function ollamaVectors(json: unknown): number[][] {
  const v = (json as { embeddings?: unknown }).embeddings;
  if (!Array.isArray(v)) fail('ollama', 'the answer has no "embeddings" list', 'use an Ollama version with the /api/embed endpoint (0.3 or later)');
  return v as number[][];
}

function openaiVectors(json: unknown, n: number): number[][] {
  const data = (json as { data?: unknown }).data;
  if (!Array.isArray(data)) fail('openai', 'the answer has no "data" list', 'check that the endpoint speaks the OpenAI embeddings API');
  const out: number[][] = new Array(n);
  for (const d of data as { index?: unknown; embedding?: unknown }[]) {
    const i = typeof d?.index === 'number' ? d.index : -1;
    if (!Number.isInteger(i) || i < 0 || i >= n || out[i]) fail('openai', 'the answer\'s indexes do not match the inputs', 'the rows stay queued and are retried later');
    out[i] = d.embedding as number[];
  }
  return out;
}

function checkVectors(provider: string, model: string, vectors: unknown[], n: number, dims: number | null): asserts vectors is number[][] {
  if (vectors.length !== n) fail(provider, `asked for ${n} vectors, got ${vectors.length}`, 'the rows stay queued and are retried later');
  const want = dims ?? (Array.isArray(vectors[0]) ? (vectors[0] as unknown[]).length : 0);
  for (const v of vectors) {
    if (!Array.isArray(v) || v.length === 0) fail(provider, 'an answer holds a missing or empty vector', 'the rows stay queued and are retried later');
    if (v.length !== want) fail(provider, `model ${model} answered a vector of ${v.length} dimensions where ${want} were expected`, 'a model of another size needs its own model name; nothing was stored');
    for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x)) fail(provider, 'a vector holds a value that is not a finite number', 'the rows stay queued and are retried later');
  }
}
