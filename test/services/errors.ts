// Named errors so a failing test run says which layer broke: provisioning a
// binary, starting a process, or reaching a server that should already be up.

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
}

export class ServiceUnreachableError extends Error {
  override readonly name = 'ServiceUnreachableError';
}

/** Hides passwords before a URL goes into a log line or an error message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
