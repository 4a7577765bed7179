import { ApiProblem, Card, formatMoney, rowsOf, useApi } from '@robbieblocks/runtime';

export interface MoneyDashboardProps {
  title?: string;
  currency?: string;
  recentDeals?: number;
}

interface Deal {
  id: string;
  name: string;
  amount_cents?: number | string | null;
  stage?: string | null;
  closed_at?: string | null;
  updated_at?: string | null;
  is_active?: boolean;
}

const WON = /won/i;
const LOST = /lost/i;

export default function MoneyDashboard({ title = 'Money', currency = 'USD', recentDeals = 3 }: MoneyDashboardProps) {
  const deals = useApi<unknown>('/deals', { refreshMs: 60_000 });
  const rows = rowsOf<Deal>(deals.data);
  const won = rows.filter((d) => WON.test(d.stage ?? ''));
  const lost = rows.filter((d) => LOST.test(d.stage ?? ''));
  const open = rows.filter((d) => !WON.test(d.stage ?? '') && !LOST.test(d.stage ?? ''));
  const sum = (ds: Deal[]) => ds.reduce((t, d) => t + Number(d.amount_cents ?? 0), 0);
  const closeRate = won.length + lost.length ? Math.round((won.length / (won.length + lost.length)) * 100) : undefined;
  const avg = won.length ? sum(won) / won.length : rows.length ? sum(rows) / rows.length : 0;
  const recent = [...rows].sort((a, b) => String(b.updated_at ?? '').localeCompare(String(a.updated_at ?? ''))).slice(0, recentDeals);
  return (
    <Card title={title} className="money-dashboard">
      {deals.error ? (
        <ApiProblem error={deals.error} what="deals" />
      ) : (
        <>
          <dl className="money-dashboard__kpis">
            <div>
              <dt>Won</dt>
              <dd>{formatMoney(sum(won), currency)}</dd>
            </div>
            <div>
              <dt>Pipeline</dt>
              <dd>
                {formatMoney(sum(open), currency)} <small>({open.length} deals)</small>
              </dd>
            </div>
            <div>
              <dt>Close rate</dt>
              <dd>{closeRate === undefined ? '–' : `${closeRate}%`}</dd>
            </div>
            <div>
              <dt>Average deal</dt>
              <dd>{formatMoney(avg, currency)}</dd>
            </div>
          </dl>
          {recent.length ? (
            <ul className="rb-list money-dashboard__recent">
              {recent.map((d) => (
                <li key={d.id}>
                  <span>{d.name}</span>
                  <span className="rb-muted">{d.stage}</span>
                  <strong>{formatMoney(d.amount_cents, currency)}</strong>
                </li>
              ))}
            </ul>
          ) : (
            <p className="rb-muted">{deals.loading ? 'Loading deals…' : 'No deals yet.'}</p>
          )}
        </>
      )}
    </Card>
  );
}
