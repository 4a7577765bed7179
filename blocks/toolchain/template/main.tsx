// Generated app entry (RobbieBlocks). Global styles first, components next, custom CSS last.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './global.css';
import '@robbieblocks/runtime/runtime.css';
import './layout.css';
import { App } from './App';
import './custom.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
