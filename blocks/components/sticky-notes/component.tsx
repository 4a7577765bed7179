import { useState, type FormEvent } from 'react';
import { api, ApiProblem, Card, formatTime, rowsOf, useApi } from '@robbieblocks/runtime';

export interface StickyNotesProps {
  title?: string;
  category?: string;
  limit?: number;
  allowAdd?: boolean;
}

interface Note {
  id: string;
  title?: string | null;
  content: string;
  color?: string | null;
  note_type?: string | null;
  category?: string | null;
  created_at?: string;
}

export default function StickyNotes({ title = 'Sticky notes', category, limit = 50, allowAdd = true }: StickyNotesProps) {
  const notes = useApi<unknown>(`/sticky-notes?limit=${limit}`);
  const [noteTitle, setNoteTitle] = useState('');
  const [content, setContent] = useState('');
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | undefined>();
  const [added, setAdded] = useState<Note[]>([]);
  const listed = rowsOf<Note>(notes.data);
  const ids = new Set(listed.map((n) => n.id));
  // newest first, whatever order the API lists them in
  const all = [...added.filter((n) => !ids.has(n.id)), ...listed].sort((a, b) => String(b.created_at ?? '').localeCompare(String(a.created_at ?? '')));

  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!content.trim()) return;
    setSaving(true);
    setSaveError(undefined);
    try {
      const body: Record<string, string> = { content: content.trim() };
      if (noteTitle.trim()) body.title = noteTitle.trim();
      if (category) body.category = category;
      const created = await api<Note | { data: Note }>('/sticky-notes', { method: 'POST', body });
      const note = 'data' in created && created.data ? created.data : (created as Note);
      setAdded((a) => [note, ...a]);
      setNoteTitle('');
      setContent('');
      notes.reload();
    } catch (err) {
      setSaveError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  if (notes.error?.status === 401) return <Card title={title} className="sticky-notes"><ApiProblem error={notes.error} what="your notes" /></Card>;
  return (
    <Card title={title} className="sticky-notes">
      {allowAdd ? (
        <form className="sticky-notes__form" onSubmit={add} aria-label="add a note">
          <input className="rb-input" name="title" placeholder="Title (optional)" value={noteTitle} onChange={(e) => setNoteTitle(e.target.value)} />
          <textarea className="rb-input" name="content" placeholder="Write a note…" required rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
          <button className="rb-button" type="submit" disabled={saving || !content.trim()}>
            {saving ? 'Saving…' : 'Add note'}
          </button>
          {saveError ? <p className="rb-error" role="alert">Not saved: {saveError}</p> : null}
        </form>
      ) : null}
      {notes.error ? <ApiProblem error={notes.error} what="notes" /> : null}
      {!notes.error && !all.length && !notes.loading ? <p className="rb-muted">No notes yet.</p> : null}
      <ul className="sticky-notes__board" aria-label="notes">
        {all.map((n, i) => (
          <li key={n.id} className={`sticky-notes__note sticky-notes__note--${i % 3}`} data-note-id={n.id}>
            {n.title ? <strong className="sticky-notes__title">{n.title}</strong> : null}
            <p className="sticky-notes__content">{n.content}</p>
            <time className="sticky-notes__time">{formatTime(n.created_at)}</time>
          </li>
        ))}
      </ul>
    </Card>
  );
}
