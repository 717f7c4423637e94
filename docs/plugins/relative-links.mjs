// TypeDoc writes `navigationLinks` and `sidebarLinks` into every page as given,
// so a relative one (`index.html#guides`) only works on the pages at the
// site's root. This makes each relative one relative to the page it is on,
// for pages in subfolders too (checked by test/site-links.test.ts).
import { Renderer } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.on(Renderer.EVENT_END_PAGE, (page) => {
    const depth = page.url.split('/').length - 1;
    if (depth === 0 || page.contents === undefined) return;
    const links = Object.values({
      ...app.options.getValue('navigationLinks'),
      ...app.options.getValue('sidebarLinks'),
    }).filter((url) => !/^(?:[a-z][a-z0-9+.-]*:|\/)/i.test(url));
    for (const url of new Set(links)) {
      page.contents = page.contents.replaceAll(
        `href="${url}"`,
        `href="${'../'.repeat(depth)}${url}"`,
      );
    }
  });
}
