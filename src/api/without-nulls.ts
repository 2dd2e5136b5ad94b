/**
 * GraphQL leaves absent input fields undefined and explicit ones null; the domain schemas want
 * neither, so both are dropped before an input goes further.
 */
export function withoutNulls(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
}
