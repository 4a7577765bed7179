import { ApiProblem, Card, formatMoney, useApi } from '@robbieblocks/runtime';

export interface DailyBriefBlockProps {
  briefType?: 'morning' | 'afternoon' | 'evening' | 'auto';
  refreshMs?: number;
}

interface Outreach {
  contact?: string;
  contact_name?: string;
  company?: string;
  reason?: string;
  revenue_potential_cents?: number;
  revenue_potential?: number;
}
interface Brief {
  summary?: string;
  priorities?: (string | { title?: string })[];
  top_outreach?: Outreach[];
  task_summary?: { total?: number; completed?: number; overdue?: number; due_today?: number } | string;
  events?: { title?: string; start_time?: string }[];
  todays_events?: { title?: string; start_time?: string }[];
  wins?: string[];
  blockers?: string[];
  minutes_saved?: number;
  time_saved_minutes?: number;
  suggestions?: string[];
}

function pickType(t: DailyBriefBlockProps['briefType']): 'morning' | 'afternoon' | 'evening' {
  if (t && t !== 'auto') return t;
  const h = new Date().getHours();
  return h < 12 ? 'morning' : h < 17 ? 'afternoon' : 'evening';
}

function List({ title, items }: { title: string; items: string[] }) {
  if (!items.length) return null;
  return (
    <div className="daily-brief__section">
      <h3>{title}</h3>
      <ul>
        {items.map((t, i) => (
          <li key={i}>{t}</li>
        ))}
      </ul>
    </div>
  );
}

export default function DailyBriefBlock({ briefType = 'auto', refreshMs = 300_000 }: DailyBriefBlockProps) {
  const type = pickType(briefType);
  const brief = useApi<Brief>(`/briefs/${type}`, { refreshMs });
  const b = brief.data;
  const ts = b?.task_summary;
  const events = b?.events ?? b?.todays_events ?? [];
  const saved = b?.minutes_saved ?? b?.time_saved_minutes;
  return (
    <Card title={`${type[0]!.toUpperCase()}${type.slice(1)} brief`} className="daily-brief" actions={<button className="rb-button rb-button--ghost" onClick={brief.reload}>Refresh</button>}>
      {brief.error ? <ApiProblem error={brief.error} what="the brief" /> : null}
      {!b && !brief.error ? <p className="rb-muted">Loading…</p> : null}
      {b ? (
        <>
          {b.summary ? <p className="daily-brief__summary">{b.summary}</p> : null}
          <List title="Priorities" items={(b.priorities ?? []).map((p) => (typeof p === 'string' ? p : (p.title ?? '')))} />
          {b.top_outreach?.length ? (
            <div className="daily-brief__section">
              <h3>Top outreach</h3>
              <ul>
                {b.top_outreach.map((o, i) => (
                  <li key={i}>
                    <strong>{o.contact ?? o.contact_name}</strong>
                    {o.company ? ` · ${o.company}` : ''} — {o.reason}
                    {o.revenue_potential_cents ?? o.revenue_potential ? <span className="daily-brief__money"> {formatMoney(o.revenue_potential_cents ?? (o.revenue_potential ?? 0) * 100)}</span> : null}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          {ts ? (
            <p className="rb-muted">
              Tasks: {typeof ts === 'string' ? ts : `${ts.completed ?? 0}/${ts.total ?? 0} done, ${ts.due_today ?? 0} due today, ${ts.overdue ?? 0} overdue`}
            </p>
          ) : null}
          <List title="Today" items={events.map((e) => `${e.start_time ? new Date(e.start_time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' ' : ''}${e.title ?? ''}`)} />
          <List title="Wins" items={b.wins ?? []} />
          <List title="Blockers" items={b.blockers ?? []} />
          <List title="Suggestions" items={b.suggestions ?? []} />
          {saved !== undefined ? <p className="daily-brief__saved">⏱ {saved} minutes saved</p> : null}
        </>
      ) : null}
    </Card>
  );
}
