import { useEffect } from 'react';
import { Link } from 'react-router-dom';
import site from './site.json';
import routes from './routes.json';

export function NotFound() {
  useEffect(() => {
    document.title = `Not found · ${site.name}`;
  }, []);
  return (
    <main className="rb-notfound">
      <h1>Page not found</h1>
      <p className="rb-muted">There is no page at this address in {site.name}.</p>
      {routes.length ? (
        <ul className="rb-list">
          {routes.map((r) => (
            <li key={r.key}>
              <Link to={r.path}>{r.title}</Link>
            </li>
          ))}
        </ul>
      ) : (
        <p className="rb-muted">This app has no published pages yet.</p>
      )}
    </main>
  );
}
