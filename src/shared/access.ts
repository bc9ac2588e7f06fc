/**
 * What an access-log entry may say it did and how that ended: the schema of the bridges
 * (ipc.ts) and the log's reader in the engine (core/vault/audit.ts) both check against these,
 * and this file is small, so reading the log loads no schema.
 */
import type { AccessAction, AccessOutcome } from './api';
import { every } from './every';

export const ACCESS_ACTIONS = every<AccessAction>()([
  'init',
  'open',
  'unlock',
  'put',
  'get',
  'rm',
  'mv',
  'repair',
  'policy',
  'location',
  'drill',
  'passphrase',
  'guard',
]);
export const ACCESS_OUTCOMES = every<AccessOutcome>()(['ok', 'denied', 'failed']);
