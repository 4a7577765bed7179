// One route per published page (from routes.json, data only) and a not-found route.
import { Suspense } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router-dom';
import { NotFound } from './NotFound';
import { pages } from './pages';
import routes from './routes.json';

export function App() {
  return (
    <BrowserRouter>
      <Suspense fallback={<div className="rb-loading" aria-busy="true" />}>
        <Routes>
          {routes.map((r, i) => {
            const Page = pages[i]!;
            return <Route key={r.key} path={r.path} element={<Page />} />;
          })}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </BrowserRouter>
  );
}
