// The one rule for file names in the vault (checkFileName): "." and "..", and names made only
// of dots and slashes, are refused with words that say why; `get ..` used to write to the
// parent folder's name and fail on "/tmp is a folder".
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors';
import { checkFileName } from '../src/core/vault/files';

describe('checkFileName', () => {
  it.each(['.', '..', '...', '/', '//', './', '../', '../..', '.\\..', 'a/..', '../secret.txt', 'docs/./x'])(
    'refuses %j with a clear message',
    (name) => {
      expect(() => checkFileName(name)).toThrow(UsageError);
      expect(() => checkFileName(name)).toThrow(/is not a file name: a name may not be only dots and slashes/);
    },
  );

  it.each(['taxes.pdf', '.bashrc', '..hidden', 'a..b', 'report.', 'photos/2026/beach.jpg', '税金.pdf', '📸.jpg'])(
    'accepts %j',
    (name) => {
      expect(() => checkFileName(name)).not.toThrow();
    },
  );

  it('still refuses empty names and control characters', () => {
    expect(() => checkFileName('')).toThrow(/may not be empty/);
    expect(() => checkFileName('a\nb')).toThrow(/control characters/);
  });
});
