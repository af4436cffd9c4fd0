/**
 * A six-route history router. The app has exactly these routes, matching Jaeger UI's paths (plus `/mesh`)
 * (`/search`, `/trace/:id`, `/dependencies`, `/monitor`, `/compare/:a...:b`); a dependency would add more
 * code than it saves. Paths are relative to the document's `<base href>` (the UI base path).
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'search'; query: string }
  | { page: 'trace'; id: string; query: string }
  | { page: 'dependencies'; query: string }
  | { page: 'monitor'; query: string }
  | { page: 'mesh'; query: string }
  | { page: 'compare'; a: string; b: string }
  | { page: 'notfound'; path: string };

function basePath(): string {
  return new URL(document.baseURI).pathname;
}

/** The app-relative path of the current location, without leading slash. */
export function currentPath(): string {
  const base = basePath();
  const p = location.pathname;
  return p.startsWith(base) ? p.slice(base.length) : p.replace(/^\//, '');
}

export function parseRoute(path: string, query: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts[0] === 'search' && parts.length === 1)) return { page: 'search', query };
  if (parts[0] === 'trace' && parts.length === 2) {
    // Jaeger UI's compare links are /trace/<a>...<b>.
    if (parts[1].includes('...')) {
      const [a = '', b = ''] = parts[1].split('...');
      return { page: 'compare', a, b };
    }
    return { page: 'trace', id: parts[1], query };
  }
  if (parts[0] === 'dependencies' && parts.length === 1) return { page: 'dependencies', query };
  if (parts[0] === 'monitor' && parts.length === 1) return { page: 'monitor', query };
  if (parts[0] === 'mesh' && parts.length === 1) return { page: 'mesh', query };
  if (parts[0] === 'compare' && parts.length === 2) {
    const [a = '', b = ''] = parts[1].split('...');
    return { page: 'compare', a, b };
  }
  return { page: 'notfound', path };
}

/** An href for an app path like `trace/abc` (works under any base path). */
export function href(appPath: string): string {
  return basePath() + appPath.replace(/^\//, '');
}

export function navigate(appPath: string, replace = false): void {
  const url = href(appPath);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const read = () => parseRoute(currentPath(), location.search.replace(/^\?/, ''));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return route;
}

/** Click handler for in-app links: plain clicks navigate without a reload; modified clicks open normally. */
export function onLinkClick(e: MouseEvent, appPath: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(appPath);
}
