// A location as status() reports it: the dashboard's tile, and the Locations screen's row
// (which adds its actions and the result of a test below the facts).
import type { ReactNode } from 'react';
import type { LocationKindName, LocationStatus } from '../../../shared/api';
import { LOCATION_KINDS } from '../../../shared/location-kinds';
import { formatBytes, formatRelative, plural } from '../format';
import { locationTrouble } from '../../../shared/location-trouble';
import { NEEDS_ENROLMENT } from '../../../shared/words';
import { Badge } from './ui';

export const KIND_WORD = (kind: LocationKindName): string => LOCATION_KINDS[kind].word;

export function LocationTile({ location, children }: { location: LocationStatus; children?: ReactNode }) {
  // Not offline: reachable or not, this device does not use it until someone signs in here.
  const state = location.signIn ? 'signin' : location.reachable ? 'online' : 'offline';
  return (
    <li className={`tile ${state}`} data-testid={`location-${location.name}`}>
      <div className="tile-head">
        <span className={`dot dot-${state}`} aria-hidden="true" />
        <h3>{location.name}</h3>
        {location.domain === null ? null : (
          <span
            className="domain-tag"
            data-testid="tile-domain"
            title="Its failure domain: it fails together with the others here"
          >
            {location.domain}
          </span>
        )}
        {location.signIn ? (
          <Badge tone="warn">{location.kind === 'node' ? 'Needs enrolment' : 'Needs sign-in'}</Badge>
        ) : (
          <Badge tone={location.reachable ? 'ok' : 'danger'}>{location.reachable ? 'Online' : 'Offline'}</Badge>
        )}
      </div>
      <p className="tile-where" title={location.display}>
        <span className="kind">{KIND_WORD(location.kind)}</span> {location.display}
      </p>
      <dl className="tile-facts">
        <div>
          <dt>Latency</dt>
          <dd>{location.latencyMs === null ? '—' : `${Math.round(location.latencyMs)} ms`}</dd>
        </div>
        <div>
          <dt>Free</dt>
          <dd>{formatBytes(location.freeBytes)}</dd>
        </div>
        <div>
          <dt>Shards</dt>
          <dd>{location.shards ?? '—'}</dd>
        </div>
        <div>
          <dt>{location.reachable ? 'Last seen' : 'Last reached'}</dt>
          <dd title={location.lastSeen ?? undefined}>{formatRelative(location.lastSeen)}</dd>
        </div>
        {location.node ? <NodeFacts node={location.node} /> : null}
      </dl>
      {location.staged > 0 ? (
        <p className="tile-waiting" data-testid="tile-waiting">
          {plural(location.staged, 'shard copy', 'shard copies')} stored while it was away{' '}
          {location.reachable
            ? `${location.staged === 1 ? 'moves' : 'move'} here shortly.`
            : `${location.staged === 1 ? 'waits' : 'wait'} for it on the other locations.`}
        </p>
      ) : null}
      {location.signIn ? (
        <p className="tile-signin" data-testid={`sign-in-needed-${location.name}`}>
          {location.kind === 'node'
            ? `${capitalized(NEEDS_ENROLMENT.word)}: ${NEEDS_ENROLMENT.explanation}.`
            : `Sign in to ${location.name} to use it on this device.`}
        </p>
      ) : location.error ? (
        <Trouble message={location.error} />
      ) : null}
      {location.warning ? (
        <p className="tile-warning" data-testid={`location-warning-${location.name}`}>
          {location.warning}
        </p>
      ) : null}
      {children}
    </li>
  );
}

/**
 * A Shardvault node's part in the guard: its key share checked against the guard's
 * commitments (never on the node's word), and the length of its request log.
 */
function NodeFacts({ node }: { node: NonNullable<LocationStatus['node']> }) {
  const share =
    node.shareVerified === null
      ? node.index === null
        ? 'not in the guard'
        : '—'
      : node.shareVerified
        ? `verified (share ${node.index})`
        : 'does not match';
  return (
    <>
      <div data-testid="node-share" title={node.problem ?? 'Its public share matches the guard’s commitments'}>
        <dt>Key share</dt>
        <dd className={node.shareVerified === false ? 'danger-text' : undefined}>{share}</dd>
      </div>
      <div data-testid="node-log">
        <dt>Request log</dt>
        <dd>{node.logLength === null ? '—' : plural(node.logLength, 'entry', 'entries')}</dd>
      </div>
    </>
  );
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A location's error: the words first, the engine's message under them. */
export function Trouble({ message }: { message: string }) {
  const { words, detail } = locationTrouble(message);
  return (
    <div className="tile-error">
      {words ? <p>{words}</p> : null}
      <p className={words ? 'trouble-detail' : undefined}>{detail}</p>
    </div>
  );
}
