import { render } from 'preact';
import { App } from './app.js';
import { html } from './html.js';

const root = document.getElementById('app');
// Drop the "Loading…" placeholder: render() diffs against what is there and would keep it.
root.replaceChildren();
render(html`<${App} />`, root);
