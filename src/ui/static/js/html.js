import htm from 'htm';
import { h } from 'preact';

/** Tagged templates for preact: JSX without a compiler (`html\`<b>${x}</b>\``). */
export const html = htm.bind(h);
