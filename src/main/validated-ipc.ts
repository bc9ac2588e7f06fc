/**
 * ipcMain as main should use it (after VS Code's validatedIpcMain): a handler can only be
 * registered for a call declared in src/shared/ipc.ts (mainCalls), and before it runs, the
 * sender must be the main frame of one of our windows, showing our own page; the payload must
 * pass the call's schema; the answer is rebuilt by the response schema (nothing the contract does
 * not name can cross), and every failure becomes an Envelope error with words for a user.
 */
import { type IpcMainInvokeEvent, type WebContents, ipcMain } from 'electron';
import {
  type BridgeError,
  type Envelope,
  type MainCallName,
  type MainCallRequest,
  type MainCallResponse,
  mainCalls,
  toBridgeError,
} from '../shared/ipc';
import { ForbiddenError } from './errors';
import { redactCredentials } from '../shared/redact';

export type Handler<N extends MainCallName> = (
  request: MainCallRequest<N>,
  sender: WebContents,
) => Promise<MainCallResponse<N>>;
/** One handler per call the page makes (calls) and per call only the preload makes (preloadCalls). */
export type Handlers = { readonly [N in MainCallName]: Handler<N> };

export interface SenderPolicy {
  /** Is this the page we loaded, in a window we made? */
  trusted(event: IpcMainInvokeEvent): boolean;
}

export { ForbiddenError };

export function serveCalls(handlers: Handlers, policy: SenderPolicy, log: (line: string) => void): () => void {
  const names = Object.keys(mainCalls) as MainCallName[];
  for (const name of names) {
    const spec = mainCalls[name];
    ipcMain.handle(spec.channel, async (event, payload: unknown): Promise<Envelope<unknown>> => {
      if (!policy.trusted(event)) {
        log(`refused ${spec.channel} from ${event.senderFrame?.url ?? 'a destroyed frame'}`);
        return fail({ code: 'forbidden', message: 'This page may not talk to Shardvault.' });
      }
      let request: unknown;
      try {
        request = spec.request.parse(payload);
      } catch (error) {
        return fail(toBridgeError(error));
      }
      try {
        const handler = handlers[name] as (request: unknown, sender: WebContents) => Promise<unknown>;
        const value = await handler(request, event.sender);
        return { ok: true, value: spec.response.parse(value) };
      } catch (error) {
        if (error instanceof ForbiddenError) return fail({ code: 'forbidden', message: error.message });
        const info = toBridgeError(error);
        if (info.code === 'internal')
          log(
            `${name} failed: ${redactCredentials(error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
          );
        return fail(info);
      }
    });
  }
  return () => names.forEach((name) => ipcMain.removeHandler(mainCalls[name].channel));
}

function fail(error: BridgeError): Envelope<never> {
  return { ok: false, error };
}
