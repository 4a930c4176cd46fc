// @ts-check
/**
 * The UI's entry point: every page is the same HTML; the path says which view to draw. Links
 * between views are ordinary links (a page load each), so the browser's history, new tabs and
 * bookmarks work as they always do.
 */
import { errorText, notice, showView } from './dom.js';
import { dropView } from './drop.js';
import { healthView } from './health.js';
import { liveView } from './live.js';
import { searchView } from './search.js';

async function main() {
  const path = window.location.pathname;
  const drop = /^\/drops\/([0-9a-f]{20})$/.exec(path);
  const view = path === '/' ? 'live' : path === '/search' ? 'search' : path === '/health' ? 'health' : drop ? 'drop' : '';
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a instanceof HTMLElement && a.dataset['view'] === view) a.setAttribute('aria-current', 'page');
  }
  if (view === 'live') liveView();
  else if (view === 'search') await searchView();
  else if (view === 'health') healthView();
  else if (drop) await dropView(/** @type {string} */ (drop[1]));
  else showView('Not found', notice('There is no such page here.', 'error'));
}

main().catch((e) => showView('Error', notice(`Something went wrong: ${errorText(e)}`, 'error')));
