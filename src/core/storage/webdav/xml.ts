/**
 * The XML of a WebDAV server's answers, read by a small namespace-aware parser: elements,
 * attributes, text, CDATA, comments, the five predefined entities and character references
 * (XML 1.0 and Namespaces in XML 1.0). No DTD is accepted, so no entity can expand and
 * nothing external is fetched; anything else malformed is a CorruptError. The caller bounds
 * the input's size (webdav.ts, MAX_XML_BYTES).
 */
import { CorruptError } from '../../errors';

export interface XmlElement {
  readonly ns: string;
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/** The root element of `xml`; `where` names the server in an error. */
export function parseXml(xml: string, where = 'WebDAV'): XmlElement {
  const bad = (why: string): never => {
    throw new CorruptError(`${where}: malformed XML in an answer (${why})`);
  };
  const stack: { el: XmlElement; scope: Map<string, string> }[] = [];
  let root: XmlElement | null = null;
  let at = 0;
  const tag = /<(\/?)([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  const attr = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt < 0 ? xml.length : lt);
    if (text !== '') {
      const top = stack.at(-1);
      if (top) top.el.text += decodeEntities(text, bad);
      else if (text.trim() !== '') bad('text outside the root element');
    }
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt);
      if (end < 0) bad('unclosed <?');
      at = end + 2;
    } else if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) bad('unclosed comment');
      at = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end < 0) bad('unclosed CDATA');
      const top = stack.at(-1);
      if (!top) bad('CDATA outside the root element');
      else top.el.text += xml.slice(lt + 9, end);
      at = end + 3;
    } else if (xml.startsWith('<!', lt)) {
      return bad('DTDs are not accepted');
    } else {
      tag.lastIndex = lt;
      const m = tag.exec(xml);
      if (!m) return bad(`bad tag at ${lt}`);
      at = tag.lastIndex;
      const [, closing, qname, attrs, selfClosing] = m as unknown as [string, string, string, string, string];
      if (closing) {
        const top = stack.pop();
        if (!top || top.el.name !== localName(qname)) bad(`unexpected </${qname}>`);
        continue;
      }
      const parentScope =
        stack.at(-1)?.scope ?? new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);
      let scope = parentScope;
      for (const a of attrs.matchAll(attr)) {
        const name = a[1] as string;
        const value = decodeEntities(a[2] ?? a[3] ?? '', bad);
        if (name === 'xmlns' || name.startsWith('xmlns:')) {
          if (scope === parentScope) scope = new Map(parentScope);
          scope.set(name === 'xmlns' ? '' : name.slice(6), value);
        }
      }
      const colon = qname.indexOf(':');
      const prefix = colon < 0 ? '' : qname.slice(0, colon);
      const ns = scope.get(prefix);
      if (ns === undefined && prefix !== '') bad(`undeclared prefix ${prefix}`);
      const el: XmlElement = { ns: ns ?? '', name: localName(qname), children: [], text: '' };
      const parent = stack.at(-1);
      if (parent) parent.el.children.push(el);
      else if (root === null) root = el;
      else bad('two root elements');
      if (!selfClosing) stack.push({ el, scope });
    }
  }
  if (stack.length > 0) bad('unclosed elements');
  if (root === null) return bad('no root element');
  return root;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

function decodeEntities(text: string, bad: (why: string) => never): string {
  return text.replace(/&([^;]{1,10});/g, (_, ref: string) => {
    switch (ref) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const code = /^#x[0-9A-Fa-f]{1,6}$/.test(ref)
      ? parseInt(ref.slice(2), 16)
      : /^#[0-9]{1,7}$/.test(ref)
        ? parseInt(ref.slice(1), 10)
        : NaN;
    if (!isXmlChar(code)) return bad(`unknown entity &${ref};`);
    return String.fromCodePoint(code);
  });
}

/** XML 1.0's Char production (section 2.2): what a character reference may name. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}
