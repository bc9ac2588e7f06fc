/**
 * Which requests to a loopback server (the web UI of `shardvault serve`, the WebDAV drive of
 * `mount` and "Open as drive") a browser made for another site's page. Such a page can send
 * requests to 127.0.0.1 from the user's browser, with whatever credentials that browser holds
 * for it (a drive's cached Basic or Digest sign-in): an `<img>` tells the page whether a name
 * exists and a picture's size, a navigation downloads plaintext, a form posts. Browsers say
 * who asks: `Origin` on every request but a plain GET or HEAD, `Sec-Fetch-Site` (Fetch
 * Metadata) on all of them. A server takes only what its own origin's pages asked
 * (`same-origin`) or the user did (`none`: typed, a bookmark); a request with neither header
 * comes from a program, not a page (curl, a WebDAV client). Another port of this machine is
 * another origin of the same site (`same-site`), and no better. Plain TypeScript: no Node,
 * no DOM.
 */

/** The Sec-Fetch-Site values of requests this origin's own page made, or the user. */
const OWN_SITE = new Set(['same-origin', 'none']);

/** Why a browser sent this request for another site's page, or null when it did not. */
export function foreignPageProblem(
  origin: string | undefined,
  fetchSite: string | string[] | undefined,
  ownOrigins: ReadonlySet<string>,
): string | null {
  if (origin !== undefined && !ownOrigins.has(origin)) return 'foreign Origin';
  if (fetchSite !== undefined && (typeof fetchSite !== 'string' || !OWN_SITE.has(fetchSite)))
    return 'cross-site request';
  return null;
}
