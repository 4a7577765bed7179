import { useNavigate } from 'react-router-dom';
import { ApiProblem, Card, LoginPanel, setToken, useApi, useToken } from '@robbieblocks/runtime';

export interface LoginFormProps {
  title?: string;
  redirectTo?: string;
}

interface Me {
  email?: string;
  first_name?: string | null;
  last_name?: string | null;
  role?: string;
  user?: { email?: string; first_name?: string | null; last_name?: string | null; role?: string };
}

export default function LoginForm({ title = 'Sign in', redirectTo }: LoginFormProps) {
  const token = useToken();
  const navigate = useNavigate();
  const me = useApi<Me>(token ? '/me' : null);
  if (!token) {
    return (
      <Card className="login-form">
        <LoginPanel title={title} onDone={() => (redirectTo ? navigate(redirectTo) : undefined)} />
      </Card>
    );
  }
  const u = me.data?.user ?? me.data;
  return (
    <Card className="login-form" title="Signed in">
      {me.error ? <ApiProblem error={me.error} /> : null}
      {u ? (
        <p className="login-form__who">
          {[u.first_name, u.last_name].filter(Boolean).join(' ') || u.email}
          {u.role ? <span className="rb-muted"> · {u.role}</span> : null}
        </p>
      ) : null}
      <button
        className="rb-button rb-button--ghost"
        onClick={() => {
          fetch('/api/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
          setToken(null);
        }}
      >
        Sign out
      </button>
    </Card>
  );
}
