/**
 * meshtrace UI entry.
 *
 * Framework: Preact. The UI is a handful of pages whose only heavy part is the trace waterfall,
 * which is virtualized by hand (it renders ~50 rows whatever the trace size), so what matters
 * from a framework is a small bundle, a fast first render and text-only rendering of data by
 * default (JSX children become text nodes; `dangerouslySetInnerHTML` is never used). Preact gives
 * components and hooks at ~4 kB, and Vite compiles its JSX without a plugin.
 */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { useRoute, href, navigate, onLinkClick, type Route } from './router.js';
import { SearchPage } from './pages/SearchPage.js';
import { TracePage } from './pages/TracePage.js';
import { DependenciesPage } from './pages/DependenciesPage.js';
import { ComparePage } from './pages/ComparePage.js';
import { MonitorPage } from './pages/MonitorPage.js';
import { MeshPage } from './pages/MeshPage.js';

function Nav({ route }: { route: Route }) {
  const link = (path: string, label: string, active: boolean) => (
    <a href={href(path)} class={active ? 'active' : ''} onClick={(e) => onLinkClick(e as MouseEvent, path)}>
      {label}
    </a>
  );
  return (
    <header class="topbar">
      <a class="brand" href={href('search')} onClick={(e) => onLinkClick(e as MouseEvent, 'search')}>meshtrace</a>
      <nav>
        {link('search', 'Search', route.page === 'search')}
        {link('dependencies', 'Service graph', route.page === 'dependencies')}
        {link('monitor', 'Monitor', route.page === 'monitor')}
        {link('mesh', 'Mesh', route.page === 'mesh')}
      </nav>
      <form
        class="lookup"
        onSubmit={(e) => {
          e.preventDefault();
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem('traceid') as HTMLInputElement;
          const id = input.value.trim().toLowerCase();
          if (id) navigate(`trace/${id}`);
        }}
      >
        <input name="traceid" placeholder="Lookup by trace ID…" aria-label="Lookup by trace ID" spellcheck={false} />
      </form>
    </header>
  );
}

function App() {
  const route = useRoute();
  useEffect(() => {
    const titles: Record<Route['page'], string> = {
      search: 'Search', trace: 'Trace', dependencies: 'Service graph', monitor: 'Monitor', mesh: 'Mesh', compare: 'Compare', notfound: 'Not found',
    };
    document.title = `${titles[route.page]} · meshtrace`;
  }, [route.page]);
  return (
    <>
      <Nav route={route} />
      <main>
        {route.page === 'search' && <SearchPage query={route.query} />}
        {route.page === 'trace' && <TracePage key={route.id} id={route.id} query={route.query} />}
        {route.page === 'dependencies' && <DependenciesPage query={route.query} />}
        {route.page === 'monitor' && <MonitorPage query={route.query} />}
        {route.page === 'mesh' && <MeshPage query={route.query} />}
        {route.page === 'compare' && <ComparePage key={`${route.a}...${route.b}`} a={route.a} b={route.b} />}
        {route.page === 'notfound' && (
          <div class="state error">No page at “{route.path}”. <a href={href('search')}>Go to search</a></div>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
