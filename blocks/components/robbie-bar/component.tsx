import { useApi } from '@robbieblocks/runtime';

type Mood = 'friendly' | 'focused' | 'playful' | 'bossy' | 'surprised' | 'blushing' | 'neutral';

export interface RobbieBarProps {
  title?: string;
  greeting?: string;
  mood?: Mood;
  showStats?: boolean;
  refreshMs?: number;
}

const EMOJI: Record<string, string> = { friendly: '😊', focused: '🎯', playful: '😜', bossy: '😤', surprised: '😲', blushing: '😳', neutral: '🙂' };

function pct(stats: unknown, keys: string[]): number | undefined {
  if (!stats || typeof stats !== 'object') return undefined;
  const s = stats as Record<string, unknown>;
  for (const k of keys) {
    const path = k.split('.');
    let v: unknown = s;
    for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

function Meter({ label, value }: { label: string; value: number | undefined }) {
  const v = value === undefined ? undefined : Math.max(0, Math.min(100, value));
  return (
    <div className="robbie-bar__meter" title={`${label} ${v === undefined ? 'n/a' : v.toFixed(0) + '%'}`}>
      <span className="robbie-bar__meter-label">{label}</span>
      <span className="robbie-bar__meter-track">
        <span className="robbie-bar__meter-fill" style={{ width: `${v ?? 0}%` }} />
      </span>
      <span className="robbie-bar__meter-value">{v === undefined ? '–' : `${v.toFixed(0)}%`}</span>
    </div>
  );
}

export default function RobbieBar({ title = 'Robbie', greeting = 'Hey {name}!', mood = 'friendly', showStats = true, refreshMs = 2000 }: RobbieBarProps) {
  const me = useApi<{ first_name?: string | null; email?: string; user?: { first_name?: string | null } }>('/me');
  const settings = useApi<{ current_mood?: string; data?: { current_mood?: string }[] }>('/personality-settings');
  const stats = useApi<Record<string, unknown>>(showStats ? '/system/stats' : null, { refreshMs });
  const first = me.data?.first_name ?? me.data?.user?.first_name ?? '';
  const liveMood = settings.data?.current_mood ?? settings.data?.data?.[0]?.current_mood ?? mood;
  const text = greeting.replace('{name}', first || 'there');
  return (
    <header className="robbie-bar" role="banner">
      <span className="robbie-bar__title">{title}</span>
      <span className="robbie-bar__greeting">{text}</span>
      <span className="robbie-bar__mood" aria-label={`mood ${liveMood}`}>
        {EMOJI[liveMood] ?? '🙂'} {liveMood}
      </span>
      {showStats ? (
        <div className="robbie-bar__stats" aria-label="system load">
          {stats.error && !stats.data ? (
            <span className="robbie-bar__stats-error">{stats.error.status === 401 ? 'sign in for stats' : `stats unavailable: ${stats.error.message}`}</span>
          ) : (
            <>
              <Meter label="CPU" value={pct(stats.data, ['cpu_percent', 'cpu', 'cpu.percent', 'cpu.usage'])} />
              <Meter label="MEM" value={pct(stats.data, ['memory_percent', 'memory', 'memory.percent', 'mem_percent'])} />
              <Meter label="GPU" value={pct(stats.data, ['gpu_percent', 'gpu', 'gpu.percent', 'gpu.usage'])} />
            </>
          )}
        </div>
      ) : null}
    </header>
  );
}
