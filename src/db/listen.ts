import type { Db, ListenHandlers, ListenOptions, Listener } from './types.js';

export type { ListenHandlers, ListenOptions, Listener } from './types.js';
export { backoffDelay } from './server-listener.js';

/** `db.listen(channels, h, opts)`, for callers that hold a Db and want a function. */
export function listen(db: Db, channels: string[], h: ListenHandlers, opts: ListenOptions = {}): Promise<Listener> {
  return db.listen(channels, h, opts);
}
