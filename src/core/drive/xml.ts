/** The XML the drive answers with (RFC 4918 section 14): escaping, and writing back a client's elements. */
import type { XmlElement } from '../storage/webdav/xml';

export const DAV = 'DAV:';

/** Text for XML 1.0: the markup characters escaped; a control character, which XML 1.0 cannot
 * hold even as a reference, becomes U+FFFD. */
export function escapeXml(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[<>&"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? '\ufffd',
  );
}

/** An element of the client's written out whole, every element declaring its own namespace. */
export function writeElement(el: XmlElement): string {
  const open = `<x:${el.name} xmlns:x="${escapeXml(el.ns)}"`;
  if (el.ns === '') {
    const inner = el.children.map(writeElement).join('') + escapeXml(el.text);
    return `<${el.name} xmlns="">${inner}</${el.name}>`;
  }
  const inner = el.children.map(writeElement).join('') + escapeXml(el.text);
  return `${open}>${inner}</x:${el.name}>`;
}

/** An empty element named like `el` (a propname answer, or a property not found). */
export function emptyElement(ns: string, name: string): string {
  return ns === '' ? `<${name} xmlns=""/>` : `<x:${name} xmlns:x="${escapeXml(ns)}"/>`;
}

export function multistatus(responses: readonly string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>`;
}

export function propstat(props: readonly string[], status: string): string {
  return `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
}
