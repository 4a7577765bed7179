import { useState, type FormEvent } from 'react';
import { api, ApiProblem, Card, formatTime, rowsOf, useApi } from '@robbieblocks/runtime';

export interface ChatInterfaceProps {
  title?: string;
  placeholder?: string;
  conversationId?: string;
  maxMessages?: number;
}

interface Conversation {
  id: string;
  title?: string | null;
  last_message_at?: string | null;
}
interface Message {
  id: string;
  role: string;
  content: string;
  created_at?: string;
}

export default function ChatInterface({ title = 'Chat', placeholder = 'Say something…', conversationId, maxMessages = 50 }: ChatInterfaceProps) {
  const convs = useApi<unknown>(conversationId ? null : '/conversations');
  const [picked, setPicked] = useState<string | undefined>(conversationId);
  const list = rowsOf<Conversation>(convs.data);
  const active = picked ?? list[0]?.id;
  const msgs = useApi<unknown>(active ? `/conversations/${encodeURIComponent(active)}/messages` : null, { refreshMs: 15_000 });
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<string | undefined>();
  const messages = rowsOf<Message>(msgs.data).slice(-maxMessages);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!active || !text.trim()) return;
    setSending(true);
    setSendError(undefined);
    try {
      await api(`/conversations/${encodeURIComponent(active)}/messages`, { method: 'POST', body: { content: text.trim() } });
      setText('');
      msgs.reload();
    } catch (err) {
      setSendError((err as Error).message);
    } finally {
      setSending(false);
    }
  };

  const problem = convs.error ?? msgs.error;
  return (
    <Card title={title} className="chat-interface">
      {list.length > 1 ? (
        <select className="rb-input chat-interface__picker" value={active} onChange={(e) => setPicked(e.target.value)} aria-label="conversation">
          {list.map((c) => (
            <option key={c.id} value={c.id}>
              {c.title || 'Untitled conversation'}
            </option>
          ))}
        </select>
      ) : null}
      {problem ? <ApiProblem error={problem} what="the conversation" /> : null}
      {!problem && !active && !convs.loading ? <p className="rb-muted">No conversations yet.</p> : null}
      <ol className="chat-interface__log" aria-live="polite">
        {messages.map((m) => (
          <li key={m.id} className={`chat-interface__msg chat-interface__msg--${m.role === 'user' ? 'user' : 'other'}`}>
            <span className="chat-interface__role">{m.role}</span>
            <p className="chat-interface__content">{m.content}</p>
            <time className="chat-interface__time">{formatTime(m.created_at)}</time>
          </li>
        ))}
      </ol>
      {active ? (
        <form className="chat-interface__form" onSubmit={send}>
          <input className="rb-input" value={text} placeholder={placeholder} onChange={(e) => setText(e.target.value)} aria-label="message" />
          <button className="rb-button" type="submit" disabled={sending || !text.trim()}>
            {sending ? 'Sending…' : 'Send'}
          </button>
        </form>
      ) : null}
      {sendError ? <p className="rb-error" role="alert">Not sent: {sendError}</p> : null}
    </Card>
  );
}
