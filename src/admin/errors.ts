/**
 * Errors the admin server answers with. Each has a stable `code` (callers and scripts branch on it)
 * and the HTTP status it maps to; the message names the problem and never carries a stack trace.
 */
export type AdminErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_ID'
  | 'BAD_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'ACTIONS_DISABLED'
  | 'HOST_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'UNKNOWN_PAYLOAD'
  | 'UNKNOWN_WORKFLOW'
  | 'UNKNOWN_SCHEDULE'
  | 'METHOD_NOT_ALLOWED'
  | 'ALREADY_FINISHED'
  | 'NOT_AVAILABLE'
  | 'RUNTIME_STOPPED'
  | 'STORE_UNAVAILABLE'
  | 'CLUSTER_UNAVAILABLE'
  | 'INTERNAL'
  | 'INSECURE_BIND'
  | 'INVALID_ADMIN_OPTIONS'
  | 'ALREADY_LISTENING';

const STATUS: Readonly<Record<AdminErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_ID: 400,
  BAD_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  ACTIONS_DISABLED: 403,
  HOST_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  UNKNOWN_PAYLOAD: 404,
  UNKNOWN_WORKFLOW: 404,
  UNKNOWN_SCHEDULE: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_FINISHED: 409,
  NOT_AVAILABLE: 501,
  RUNTIME_STOPPED: 503,
  STORE_UNAVAILABLE: 503,
  CLUSTER_UNAVAILABLE: 503,
  INTERNAL: 500,
  INSECURE_BIND: 500,
  INVALID_ADMIN_OPTIONS: 500,
  ALREADY_LISTENING: 500,
};

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  /** The field, query parameter or path segment at fault, when there is one. */
  readonly field: string | undefined;
  constructor(code: AdminErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.field = field;
  }

  get status(): number {
    return STATUS[this.code];
  }

  /** The JSON body of the error response: code and message only, never a stack. */
  toJSON(): { error: { code: AdminErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

/** An operator action or view that needs a part of the engine this runtime does not have. */
export function notAvailable(what: string, needs: string): AdminError {
  return new AdminError('NOT_AVAILABLE', `${what} needs the ${needs}, which this runtime does not have`);
}
