/**
 * Problems found in simulator input (files, specs), reported as data at the boundary: a stable
 * snake_case `code`, the `path` of the offending field (a JSON path, or `line 12, column close`
 * for CSV), and a sentence for people.
 */
export interface Issue {
  readonly code: string
  readonly path: string
  readonly message: string
}

/** A value, or the issues that prevented building it. */
export type Checked<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly Issue[] }
  | { readonly ok: false; readonly issues: readonly Issue[] }

export function issue(code: string, path: string, message: string): Issue {
  return { code, path, message }
}
