/**
 * A vault file's name may hold slashes (a folder's files keep their paths); written out, as
 * an export or a download, it is its last step. Plain TypeScript: no Node, no DOM.
 */
export function fileBaseName(name: string): string {
  return name.split(/[/\\]/).pop() || name;
}
