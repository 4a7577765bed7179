import { useState } from 'react';
import { api, ApiProblem, Card, rowsOf, useApi } from '@robbieblocks/runtime';

export interface TouchReadyQueueProps {
  title?: string;
  limit?: number;
  showRationale?: boolean;
}

interface Touch {
  id: string;
  contact_name?: string | null;
  company_name?: string | null;
  avatar_url?: string | null;
  contact?: { first_name?: string; last_name?: string; name?: string; company?: string; avatar_url?: string } | null;
  draft_message: string;
  rationale?: string | null;
  channel?: string | null;
  ai_confidence?: number | string | null;
  context?: unknown;
  status?: string;
}

type Action = 'approve' | 'skip' | 'not-relevant';

export default function TouchReadyQueue({ title = 'Ready to send', limit = 10, showRationale = true }: TouchReadyQueueProps) {
  const q = useApi<unknown>(`/touch-ready?limit=${Math.min(200, limit * 4)}`, { refreshMs: 60_000 });
  const [done, setDone] = useState<Record<string, Action>>({});
  const [actionError, setActionError] = useState<string | undefined>();
  const items = rowsOf<Touch>(q.data)
    .filter((t) => !done[t.id] && (!t.status || t.status === 'pending'))
    .slice(0, limit);

  const act = async (t: Touch, action: Action) => {
    setActionError(undefined);
    try {
      await api(`/touch-ready/${encodeURIComponent(t.id)}/${action}`, { method: 'POST', body: {} });
      setDone((d) => ({ ...d, [t.id]: action }));
    } catch (err) {
      setActionError(`${action} failed: ${(err as Error).message}`);
    }
  };

  return (
    <Card title={title} className="touch-ready">
      {q.error ? <ApiProblem error={q.error} what="the queue" /> : null}
      {actionError ? <p className="rb-error" role="alert">{actionError}</p> : null}
      {!q.error && !items.length && !q.loading ? <p className="rb-muted">Nothing waiting. 🎉</p> : null}
      <ul className="rb-list">
        {items.map((t) => {
          const name = t.contact_name ?? t.contact?.name ?? [t.contact?.first_name, t.contact?.last_name].filter(Boolean).join(' ') ?? 'Contact';
          const company = t.company_name ?? t.contact?.company;
          const conf = t.ai_confidence === null || t.ai_confidence === undefined ? undefined : Number(t.ai_confidence);
          return (
            <li key={t.id} className="touch-ready__item">
              <div className="touch-ready__who">
                <span className="touch-ready__avatar" aria-hidden="true">
                  {(name || '?').slice(0, 1).toUpperCase()}
                </span>
                <div>
                  <strong>{name || 'Contact'}</strong>
                  {company ? <span className="rb-muted"> · {company}</span> : null}
                  <div className="rb-muted">
                    {t.channel ?? 'email'}
                    {conf !== undefined && Number.isFinite(conf) ? ` · ${Math.round(conf <= 1 ? conf * 100 : conf)}% confident` : ''}
                  </div>
                </div>
              </div>
              <p className="touch-ready__draft">{t.draft_message}</p>
              {showRationale && t.rationale ? <p className="touch-ready__why">Why: {t.rationale}</p> : null}
              <div className="touch-ready__actions">
                <button className="rb-button" onClick={() => act(t, 'approve')}>Approve</button>
                <button className="rb-button rb-button--ghost" onClick={() => act(t, 'skip')}>Skip</button>
                <button className="rb-button rb-button--ghost" onClick={() => act(t, 'not-relevant')}>Not relevant</button>
              </div>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}
