// What the user reads for each error the gateway can send (errors[].extensions.code, listed in
// the description of schema.graphql), and how to get the code out of Apollo Client's errors.
import { CombinedGraphQLErrors, ServerError } from '@apollo/client';

export type ErrorCode =
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'BAD_USER_INPUT'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'THROTTLED'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'LIMIT_EXCEEDED'
  | 'INTERNAL_SERVER_ERROR';

/** A readable sentence per code; a Record, so a code without one does not compile. */
export const MESSAGES: Record<ErrorCode, string> = {
  GRAPHQL_PARSE_FAILED: 'This app sent a request the gateway could not read. Reload the page; if it persists, report it.',
  GRAPHQL_VALIDATION_FAILED: 'This app is out of date with the gateway. Reload the page to get the current version.',
  BAD_USER_INPUT: 'Some of what you entered is not valid.',
  PERSISTED_QUERY_NOT_FOUND: 'The gateway forgot a saved request. Try again.',
  UNAUTHENTICATED: 'Your sign-in has expired. Sign in again.',
  FORBIDDEN: 'You do not have permission to do this (it needs DeviceManagementConfiguration.ReadWrite.All).',
  NOT_FOUND: 'This definition file or operation no longer exists. It may have been removed.',
  CONFLICT: 'Intune is still working on this file, or it changed meanwhile. Refresh and try again in a moment.',
  THROTTLED: 'Intune is busy.',
  UPSTREAM_ERROR: 'Microsoft Graph reported a problem.',
  UPSTREAM_TIMEOUT: 'Microsoft Graph did not answer in time. Your change may or may not have been made: refresh before trying again.',
  LIMIT_EXCEEDED: 'This is over a limit of the gateway or of Intune (see below).',
  INTERNAL_SERVER_ERROR: 'Something went wrong in the gateway. Try again later.',
};

export interface Problem {
  /** The gateway's code, or null for a network failure or an answer that was not GraphQL. */
  code: ErrorCode | null;
  /** The sentence to show. */
  message: string;
  /** The gateway's own words, and what support needs. */
  detail?: string;
}

interface GatewayError {
  message: string;
  extensions?: Record<string, unknown>;
}

function isCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in MESSAGES;
}

function fromGatewayError(error: GatewayError): Problem {
  const ext = error.extensions ?? {};
  const code = isCode(ext.code) ? ext.code : null;
  let message = code ? MESSAGES[code] : error.message;
  if (code === 'THROTTLED' && typeof ext.retryAfter === 'number') {
    message += ` Try again in ${ext.retryAfter} seconds.`;
  }
  const support = [ext.requestId && `request-id ${ext.requestId}`, ext.clientRequestId && `client-request-id ${ext.clientRequestId}`]
    .filter(Boolean)
    .join(', ');
  const detail = [error.message, ext.intuneCode && `Intune: ${ext.intuneCode}`, support && `quote to Microsoft support: ${support}`]
    .filter(Boolean)
    .join(' · ');
  return { code, message, detail };
}

/** The problem behind any error Apollo Client hands the app. */
export function describeError(error: unknown): Problem {
  if (CombinedGraphQLErrors.is(error) && error.errors.length > 0) {
    return fromGatewayError(error.errors[0] as GatewayError);
  }
  if (ServerError.is(error)) {
    // A non-2xx answer Apollo did not read as GraphQL (e.g. 413, 503): its body still is.
    try {
      const body = JSON.parse(error.bodyText) as { errors?: GatewayError[] };
      if (body.errors?.[0]) {
        return fromGatewayError(body.errors[0]);
      }
    } catch {
      // Not JSON: fall through.
    }
    return { code: null, message: `The gateway answered HTTP ${error.statusCode}.` };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: null, message: 'Cannot reach the gateway. Check that it is running and that it allows this page.', detail: text };
}
