import { ApiProblem, useApi } from '@robbieblocks/runtime';

export interface MoodIndicatorProps {
  mood?: string;
  publicMode?: boolean;
  compact?: boolean;
}

interface Settings {
  current_mood?: string | null;
  flirt_mode?: number | null;
  gandhi_genghis?: number | null;
  genghis_gandhi_intensity?: number | null;
  cocktail_lightning_energy?: number | null;
}

const EMOJI: Record<string, string> = { friendly: '😊', focused: '🎯', playful: '😜', bossy: '😤', surprised: '😲', blushing: '😳', neutral: '🙂' };

export default function MoodIndicator({ mood = 'friendly', publicMode = false, compact = false }: MoodIndicatorProps) {
  const s = useApi<Settings | { data?: Settings[] }>('/personality-settings', { refreshMs: 30_000 });
  const stats = useApi<{ active_sessions?: number; viewers?: number }>(publicMode ? '/system/stats' : null, { refreshMs: 10_000 });
  const settings: Settings | undefined = s.data && 'data' in s.data && Array.isArray(s.data.data) ? s.data.data[0] : (s.data as Settings | undefined);
  const current = settings?.current_mood || mood;
  const attraction = settings?.flirt_mode;
  const gg = settings?.gandhi_genghis;
  const viewers = stats.data?.viewers ?? stats.data?.active_sessions;
  return (
    <div className={'mood-indicator' + (compact ? ' mood-indicator--compact' : '')} aria-live="polite">
      <span className="mood-indicator__emoji" aria-hidden="true">
        {EMOJI[current] ?? '🙂'}
      </span>
      <div className="mood-indicator__text">
        <strong className="mood-indicator__name">{current}</strong>
        <span className="mood-indicator__levels">
          attraction {attraction ?? '–'}/11 • G-G {gg ?? '–'}
        </span>
        {publicMode ? <span className="mood-indicator__viewers">{viewers ?? 0} watching</span> : null}
      </div>
      {s.error && s.error.status !== 401 ? <ApiProblem error={s.error} what="the mood" /> : null}
      {s.error?.status === 401 ? <span className="mood-indicator__hint">sign in to see the live mood</span> : null}
    </div>
  );
}
