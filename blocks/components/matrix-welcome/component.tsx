import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { useApi } from '@robbieblocks/runtime';

export interface MatrixWelcomeProps {
  greeting?: string;
  subtitle?: string;
  durationMs?: number;
  continueTo?: string;
  emojis?: string[];
}

const GLYPHS = 'ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄ0123456789ABCDEF';

export default function MatrixWelcome({ greeting = 'Welcome back, {name}', subtitle, durationMs = 4000, continueTo, emojis = ['💜', '🚀', '✨', '🔥'] }: MatrixWelcomeProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [done, setDone] = useState(durationMs === 0);
  const me = useApi<{ first_name?: string | null; user?: { first_name?: string | null } }>('/me');
  const name = me.data?.first_name ?? me.data?.user?.first_name ?? 'friend';

  useEffect(() => {
    const c = canvas.current;
    if (!c || durationMs === 0 || window.matchMedia?.('(prefers-reduced-motion: reduce)').matches) {
      setDone(true);
      return;
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const css = getComputedStyle(c);
    const color = css.getPropertyValue('--color-primary').trim() || css.color;
    const background = css.getPropertyValue('--color-background').trim() || css.backgroundColor;
    const size = 14;
    let cols = 0;
    let drops: number[] = [];
    const resize = () => {
      c.width = c.clientWidth;
      c.height = c.clientHeight;
      cols = Math.ceil(c.width / size);
      drops = Array.from({ length: cols }, () => Math.random() * -20);
    };
    resize();
    let frame = 0;
    const tick = () => {
      ctx.globalAlpha = 0.08; // fade the previous frame into the background: the trails
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.globalAlpha = 1;
      ctx.fillStyle = color;
      ctx.font = `${size}px monospace`;
      for (let i = 0; i < cols; i++) {
        ctx.fillText(GLYPHS[Math.floor(Math.random() * GLYPHS.length)]!, i * size, drops[i]! * size);
        drops[i] = drops[i]! * size > c.height && Math.random() > 0.975 ? 0 : drops[i]! + 1;
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    const stop = setTimeout(() => setDone(true), durationMs);
    window.addEventListener('resize', resize);
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(stop);
      window.removeEventListener('resize', resize);
    };
  }, [durationMs]);

  return (
    <section className={'matrix-welcome' + (done ? ' matrix-welcome--done' : '')}>
      <canvas ref={canvas} className="matrix-welcome__rain" aria-hidden="true" />
      <div className="matrix-welcome__emojis" aria-hidden="true">
        {emojis.map((e, i) => (
          <span key={i} style={{ left: `${((i + 1) * 100) / (emojis.length + 1)}%`, animationDelay: `${i * 0.4}s` }}>
            {e}
          </span>
        ))}
      </div>
      <div className="matrix-welcome__text">
        <h1>{greeting.replace('{name}', name)}</h1>
        {subtitle ? <p>{subtitle}</p> : null}
        {continueTo && done ? (
          <Link className="rb-button matrix-welcome__continue" to={continueTo}>
            Continue
          </Link>
        ) : null}
      </div>
    </section>
  );
}
