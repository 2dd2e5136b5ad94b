import { useState } from 'preact/hooks';
import { setToken } from './api.js';
import { html } from './html.js';

/**
 * Asks for an API token when the server answered UNAUTHENTICATED. The token is kept in this
 * browser's localStorage and sent as `Authorization: Bearer <token>` on every request.
 */
export function LoginForm({ rejected = false }) {
  const [token, setValue] = useState('');
  return html`<form class="card login" aria-labelledby="login-title" onSubmit=${(e) => (e.preventDefault(), token.trim() && setToken(token.trim()))}>
    <h2 id="login-title">Sign in</h2>
    <p>This Taskplane asks for an API token.${rejected ? html` <span class="error-text">The token you gave was refused.</span>` : ''}</p>
    <label for="token-input">API token</label>
    <input id="token-input" type="password" autocomplete="current-password" required value=${token} onInput=${(e) => setValue(e.currentTarget.value)} />
    <button type="submit" class="btn primary">Sign in</button>
  </form>`;
}
