import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connect } from './bridge/client';
import './styles.css';
import './theme';

// A dropped file must never make the window navigate to it.
for (const type of ['dragover', 'drop'] as const) {
  window.addEventListener(type, (event) => event.preventDefault());
}

const root = document.getElementById('root');
const client = connect();
if (root) {
  if ('error' in client) {
    root.innerHTML = '';
    const main = document.createElement('main');
    main.className = 'onboarding narrow';
    const heading = document.createElement('h1');
    heading.textContent = 'Shardvault';
    const text = document.createElement('p');
    text.textContent = client.error;
    main.append(heading, text);
    root.append(main);
  } else {
    // Signs of life postpone the auto-lock; at most one ping every 20 s.
    let last = 0;
    const ping = (): void => {
      const now = Date.now();
      if (now - last < 20_000) return;
      last = now;
      client.api.activity().catch(() => undefined);
    };
    for (const type of ['pointerdown', 'keydown', 'wheel'] as const) {
      window.addEventListener(type, ping, { passive: true });
    }
    createRoot(root).render(
      <StrictMode>
        <App client={client} />
      </StrictMode>,
    );
  }
}
