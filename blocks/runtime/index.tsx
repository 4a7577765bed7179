// The client runtime every RobbieBlocks app gets, imported by components as '@robbieblocks/runtime'.
// Auth token under one localStorage key; the Authorization header only when a token exists;
// a 401 drops the token and every component shows the login panel.
import { useCallback, useEffect, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';

export const TOKEN_KEY = 'robbie_token';

const listeners = new Set<() => void>();

function readToken(): string | null {
  try {
    return window.localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return readToken();
}

export function setToken(token: string | null): void {
  try {
    if (token) window.localStorage.setItem(TOKEN_KEY, token);
    else window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the session lasts as long as the page */
  }
  listeners.forEach((l) => l());
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  const onStorage = (e: StorageEvent) => {
    if (e.key === TOKEN_KEY) l();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(l);
    window.removeEventListener('storage', onStorage);
  };
}

/** The current token; components re-render when it changes (login, logout, 401, another tab). */
export function useToken(): string | null {
  return useSyncExternalStore(subscribe, readToken, () => null);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A JSON call to the API on the same origin: `api('/sticky-notes')` → GET /api/sticky-notes. */
export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = readToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch('/api' + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${(err as Error).message})`);
  }
  if (res.status === 401) {
    if (token) setToken(null);
    throw new ApiError(401, 'please sign in');
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const d = data as { message?: string; error?: string | { message?: string } } | undefined;
    const msg =
      (typeof d?.error === 'object' ? d.error?.message : undefined) ?? d?.message ?? (typeof d?.error === 'string' ? d.error : undefined) ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, String(msg));
  }
  return data as T;
}

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null = not now), again every `refreshMs` and whenever the token changes. */
export function useApi<T = unknown>(path: string | null, opts: { refreshMs?: number } = {}): ApiState<T> {
  const token = useToken();
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: path !== null });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, String(error)), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [path, token, tick]);
  useEffect(() => {
    if (!opts.refreshMs || path === null) return;
    const t = setInterval(reload, opts.refreshMs);
    return () => clearInterval(t);
  }, [opts.refreshMs, path, reload]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Rows of a list endpoint, whether it answers `{data: [...]}` or a bare array. */
export function rowsOf<T>(v: unknown): T[] {
  if (Array.isArray(v)) return v as T[];
  if (v && typeof v === 'object' && Array.isArray((v as { data?: unknown }).data)) return (v as { data: T[] }).data;
  return [];
}

export interface LoginResult {
  token: string;
  expires_at?: string;
  refresh_token?: string;
  user?: { id: string; email: string; first_name?: string | null; last_name?: string | null; role?: string };
}

/** Email + password → token in localStorage. Never stores the password. */
export function LoginPanel({ title = 'Sign in', onDone }: { title?: string; onDone?: (r: LoginResult) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<LoginResult>('/auth/login', { method: 'POST', body: { email, password } });
      setToken(r.token);
      onDone?.(r);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Email or password is not right.' : (err as Error).message);
    } finally {
      setBusy(false);
      setPassword('');
    }
  };
  return (
    <form className="rb-login" onSubmit={submit} aria-label={title}>
      <h3 className="rb-login__title">{title}</h3>
      <label className="rb-login__field">
        <span>Email</span>
        <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label className="rb-login__field">
        <span>Password</span>
        <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      {error ? <p className="rb-error" role="alert">{error}</p> : null}
      <button className="rb-button" type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

// Several blocks of a page may need a sign-in at once: only the first shows the form.
const prompts: number[] = [];
const promptListeners = new Set<() => void>();
let nextPrompt = 1;
const notifyPrompts = () => promptListeners.forEach((l) => l());
const subscribePrompts = (l: () => void) => {
  promptListeners.add(l);
  return () => void promptListeners.delete(l);
};

function SignInPrompt({ what }: { what?: string }) {
  const [id] = useState(() => nextPrompt++);
  useEffect(() => {
    prompts.push(id);
    notifyPrompts();
    return () => {
      prompts.splice(prompts.indexOf(id), 1);
      notifyPrompts();
    };
  }, [id]);
  const first = useSyncExternalStore(subscribePrompts, () => prompts[0] ?? null, () => null);
  if (first === id) return <LoginPanel title={what ? `Sign in to see ${what}` : 'Sign in'} />;
  return <p className="rb-signin-note">Sign in to see {what ?? 'this'}.</p>;
}

/** How a component shows a failed call: a sign-in (the form once per page) for 401, else the message. */
export function ApiProblem({ error, what }: { error: ApiError | undefined; what?: string }) {
  if (!error) return null;
  if (error.status === 401) return <SignInPrompt what={what} />;
  return (
    <p className="rb-error" role="alert">
      {what ? `Could not load ${what}: ` : ''}
      {error.message}
    </p>
  );
}

/** A titled panel in the token styles. */
export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children?: ReactNode; className?: string }) {
  return (
    <section className={'rb-card' + (className ? ' ' + className : '')}>
      {title || actions ? (
        <header className="rb-card__head">
          {title ? <h2 className="rb-card__title">{title}</h2> : <span />}
          {actions}
        </header>
      ) : null}
      <div className="rb-card__body">{children}</div>
    </section>
  );
}

export function formatTime(v: string | number | Date | null | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

export function formatMoney(cents: number | string | null | undefined, currency = 'USD'): string {
  const n = Number(cents ?? 0) / 100;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 }).format(n);
  } catch {
    return `$${n.toFixed(0)}`;
  }
}
