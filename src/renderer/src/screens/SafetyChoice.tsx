// "How safe?": survive losing X, secret even if Y collude, and what that means in n, k, t and
// storage, live. The first run and Settings → Change safety use the same words.
import { formatCost, plural } from '../format';
import { locationsNeeded } from '../../../shared/words';
import { PRESETS } from '../policy';
import { Field } from '../ui/ui';

export function SafetyChoice({
  locations,
  over,
  survive,
  secretAgainst,
  onChange,
}: {
  /** The locations the vault will have (n). */
  locations: number;
  /** The numbers the engine worked out (policyPreview, over failure domains when there are
   * some; data 0 until it answers or when it can't be), and why it can't be. */
  over: {
    readonly data: number;
    readonly total: number;
    readonly threshold: number;
    readonly problem: string | null;
  };
  survive: number;
  secretAgainst: number;
  onChange: (next: { survive: number; secretAgainst: number }) => void;
}) {
  const derived = { n: over.total, k: over.data, t: over.threshold, problem: over.problem };
  return (
    <>
      <div className="presets" role="group" aria-label="Presets">
        {PRESETS.map((preset) => (
          <button
            key={preset.id}
            type="button"
            className="preset"
            aria-pressed={preset.survive === survive && preset.secretAgainst === secretAgainst}
            onClick={() => {
              onChange({ survive: preset.survive, secretAgainst: preset.secretAgainst });
            }}
          >
            <strong>{preset.title}</strong>
            <span>{plural(locationsNeeded(preset.survive, preset.secretAgainst), 'location')} or more</span>
          </button>
        ))}
      </div>
      <div className="grid-2">
        <Field
          label="Survive losing"
          hint="Locations that may be lost, broken or wiped while every file can still be read."
        >
          {(props) => (
            <div className="stepper">
              <input
                {...props}
                type="number"
                min={0}
                max={Math.max(0, locations - 1)}
                value={survive}
                onChange={(e) => onChange({ survive: Math.max(0, Number(e.target.value) || 0), secretAgainst })}
              />
              <span>{survive === 1 ? 'location' : 'locations'}</span>
            </div>
          )}
        </Field>
        <Field
          label="Secret even if"
          hint="Locations that may work together (or be breached together) and still learn nothing."
        >
          {(props) => (
            <div className="stepper">
              <input
                {...props}
                type="number"
                min={1}
                max={Math.max(1, locations - 1)}
                value={secretAgainst}
                onChange={(e) => onChange({ survive, secretAgainst: Math.max(0, Number(e.target.value) || 0) })}
              />
              <span>{secretAgainst === 1 ? 'location colludes' : 'locations collude'}</span>
            </div>
          )}
        </Field>
      </div>
      <dl className="policy-summary" aria-label="What this means" aria-live="polite">
        <div>
          <dt>Shards per file (n)</dt>
          <dd>{derived.n}</dd>
        </div>
        <div>
          <dt>Needed to read (k)</dt>
          <dd>{derived.k > 0 ? derived.k : '—'}</dd>
        </div>
        <div>
          <dt>Needed to unlock (t)</dt>
          <dd>{derived.t}</dd>
        </div>
        <div>
          <dt>Storage cost (n/k)</dt>
          <dd>{derived.k > 0 ? formatCost(derived.n, derived.k) : '—'}</dd>
        </div>
      </dl>
      <p className="muted small">
        {derived.k > 0 && derived.problem === null
          ? `Each file is cut into ${derived.n} shards, one per location; any ${derived.k} rebuild it, so a 1 GB file takes ${(derived.n / derived.k).toFixed(2)} GB in all. Any ${derived.t} locations together can unlock the vault; fewer learn nothing.`
          : 'Add locations to see what this policy costs.'}
      </p>
    </>
  );
}
