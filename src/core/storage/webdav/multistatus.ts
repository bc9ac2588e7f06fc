/**
 * A 207 Multi-Status answer to PROPFIND (RFC 4918, sections 9.1 and 14): the entries it
 * lists with the few live properties the node reads, and which of them are the children of
 * a collection. What a server writes here is untrusted: a malformed answer or a bad number
 * is a CorruptError, and an href names a child only when it is one object name directly
 * under the collection, so no listing can lead outside the location's root.
 */
import { CorruptError } from '../../errors';
import { isObjectSegment } from '../node';
import { type XmlElement, parseXml } from './xml';

export interface DavEntry {
  readonly href: string;
  readonly isCollection: boolean;
  readonly size: number | null;
  /** getlastmodified (an HTTP date), ms since the epoch. */
  readonly modifiedMs: number | null;
  readonly quotaAvailable: number | null;
}

/** The `response` entries of a 207 Multi-Status, reading only properties whose propstat is 200. */
export function parseMultistatus(xml: string, where = 'WebDAV'): DavEntry[] {
  const root = parseXml(xml, where);
  if (!isDav(root, 'multistatus')) throw new CorruptError(`${where}: a PROPFIND answer is not a DAV multistatus`);
  const out: DavEntry[] = [];
  for (const response of root.children.filter((c) => isDav(c, 'response'))) {
    const href = response.children.find((c) => isDav(c, 'href'))?.text.trim();
    if (!href) throw new CorruptError(`${where}: a PROPFIND response has no href`);
    let isCollection = false;
    let size: number | null = null;
    let modifiedMs: number | null = null;
    let quotaAvailable: number | null = null;
    let ok = false;
    for (const propstat of response.children.filter((c) => isDav(c, 'propstat'))) {
      const status = propstat.children.find((c) => isDav(c, 'status'))?.text ?? '';
      if (!/^HTTP\/\d(\.\d)?\s+2\d\d\b/.test(status.trim())) continue;
      ok = true;
      for (const prop of propstat.children.filter((c) => isDav(c, 'prop'))) {
        for (const p of prop.children) {
          if (isDav(p, 'resourcetype')) isCollection ||= p.children.some((c) => isDav(c, 'collection'));
          if (isDav(p, 'getcontentlength')) size = once(p.name, size, parseCount(p.text, where), href, where);
          if (isDav(p, 'getlastmodified')) {
            const ms = Date.parse(p.text.trim());
            modifiedMs = Number.isFinite(ms) ? ms : null;
          }
          if (isDav(p, 'quota-available-bytes') && p.text.trim() !== '')
            quotaAvailable = once(p.name, quotaAvailable, parseCount(p.text, where), href, where);
        }
      }
    }
    if (ok) out.push({ href, isCollection, size, modifiedMs, quotaAvailable });
  }
  return out;
}

/** A property given again must say the same: two sizes for one object is a lie, not a choice. */
function once(name: string, before: number | null, value: number, href: string, where: string): number {
  if (before !== null && before !== value) {
    throw new CorruptError(`${where}: a PROPFIND answer gives ${name} twice for ${href.slice(0, 200)}`);
  }
  return value;
}

function parseCount(text: string, where: string): number {
  const t = text.trim();
  if (!/^\d{1,16}$/.test(t) || !Number.isSafeInteger(Number(t))) {
    throw new CorruptError(`${where}: bad number ${JSON.stringify(t.slice(0, 40))} in a PROPFIND answer`);
  }
  return Number(t);
}

function isDav(el: XmlElement, name: string): boolean {
  return el.ns === 'DAV:' && el.name === name;
}

/**
 * The object name an entry's href gives for a child of the collection at `parent` (a URL
 * path, percent-encoded as sent), or null when the href is the collection itself, deeper,
 * elsewhere, or not a name a put could have made. Only the path is compared: servers behind
 * a proxy may write another scheme or host into an absolute href.
 */
export function childName(href: string, base: URL, parent: string, where: string): string | null {
  let resolved: URL;
  try {
    resolved = new URL(href, base);
  } catch {
    throw new CorruptError(
      `${where}: a PROPFIND answer names an entry by no URL (${JSON.stringify(href.slice(0, 200))})`,
    );
  }
  const above = segmentsOf(parent);
  const segments = segmentsOf(resolved.pathname);
  if (segments.length !== above.length + 1 || !above.every((s, i) => s === segments[i])) return null;
  const name = segments[segments.length - 1] as string;
  return isObjectSegment(name) ? name : null;
}

function segmentsOf(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}
