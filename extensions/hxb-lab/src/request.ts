import { URLExt } from '@jupyterlab/coreutils';

import { ServerConnection } from '@jupyterlab/services';

/** The JSON error body of the HXB Lab server extension. */
export interface IErrorBody {
  message: string;
  type: string;
  problems?: string[];
  fields?: Record<string, string[]>;
}

/**
 * An error answer of the server extension: its message, the HxbLabError type,
 * and for a ParameterError the problems per field.
 */
export class HxbApiError extends ServerConnection.ResponseError {
  constructor(response: Response, body: Partial<IErrorBody>, message: string) {
    super(response, message);
    this.type = body.type ?? 'HTTPError';
    this.fields = body.fields ?? {};
    this.problems = body.problems ?? [];
  }

  readonly type: string;
  readonly fields: Record<string, string[]>;
  readonly problems: string[];
}

/** The URL of an endpoint of the server extension (for an iframe's `src`). */
export function apiUrl(
  endPoint: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return URLExt.join(settings.baseUrl, 'hxb-lab/api', endPoint);
}

/**
 * Call the HXB Lab server extension under `<baseUrl>/hxb-lab/api/`.
 *
 * @param endPoint path below `hxb-lab/api`, e.g. `profiles/active`
 * @param init initial values for the request (method, body, ...)
 * @param settings the server connection settings (the page's by default)
 * @returns the response body parsed as JSON
 * @throws HxbApiError (a ServerConnection.ResponseError) whose message is the
 *   server's JSON `message` on a non-2xx answer, or NetworkError when the
 *   server cannot be reached
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const requestUrl = apiUrl(endPoint, settings);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(requestUrl, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      if (response.ok) {
        throw new HxbApiError(
          response,
          { type: 'InvalidResponse' },
          `${endPoint}: the server's answer is not valid JSON`
        );
      }
    }
  }

  if (!response.ok) {
    const body: Partial<IErrorBody> =
      data && typeof data === 'object' ? data : {};
    const message =
      typeof body.message === 'string'
        ? body.message
        : `${response.status} ${response.statusText}`.trim();
    throw new HxbApiError(response, body, message);
  }

  return data as T;
}
