/** A call main refuses on principle (a path the user did not pick): the bridge answers 'forbidden'. */
export class ForbiddenError extends Error {
  readonly code = 'forbidden';
}
