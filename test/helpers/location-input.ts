// Locations as the bridges take them (src/shared/location-kinds.ts LocationInput): fields and
// secrets by name, never a SPEC.
import type { LocationInput } from '../../src/shared/location-kinds';

export function folderInput(path: string, name?: string): LocationInput {
  return { kind: 'local', fields: { folder: path }, ...(name === undefined ? {} : { name }) };
}

export function webdavInput(url: string, user: string, password: string, name: string): LocationInput {
  return { kind: 'webdav', name, fields: { url, user }, secrets: { password } };
}
