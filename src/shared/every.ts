/** A helper of the contract's lists (ipc.ts, access.ts), in a file of its own: small to load. */

/**
 * Every member of a union, as a list, checked by the compiler: when the contract grows a
 * member (a new access action, say), this stops compiling until the schema knows it too.
 */
export function every<T extends string>() {
  return <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : never)): L =>
    list;
}
