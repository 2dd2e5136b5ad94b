import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (`#/runs?status=FAILED`): the node serves one page at `/`, so every screen is a
 * hash and a reload or a shared link lands on the same screen with the same filters.
 */

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search) };
}

/** The current route, re-rendering on hash changes. */
export function useRoute() {
  const [route, setRoute] = useState(() => parseHash());
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** `#/runs?name=x` from a path and the non-empty params. */
export function href(path, params = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)).toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

export const runHref = (id) => href(`/runs/${encodeURIComponent(id)}`);
export const jobHref = (id) => href(`/jobs/${encodeURIComponent(id)}`);

/** Changes the hash without adding a history entry (filters typed into a form). */
export function replaceHash(target) {
  history.replaceState(null, '', target);
  dispatchEvent(new HashChangeEvent('hashchange'));
}
