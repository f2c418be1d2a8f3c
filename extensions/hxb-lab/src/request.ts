import { URLExt } from '@jupyterlab/coreutils';

import { ServerConnection } from '@jupyterlab/services';

/**
 * Call the HXB Lab server extension under `<baseUrl>/hxb-lab/api/`.
 *
 * @param endPoint path below `hxb-lab/api`, e.g. `profiles/active`
 * @param init initial values for the request (method, body, ...)
 * @param settings the server connection settings (the page's by default)
 * @returns the response body parsed as JSON
 * @throws ServerConnection.ResponseError (an Error) whose message is the
 *   server's JSON `message` on a non-2xx answer, or NetworkError when the
 *   server cannot be reached
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const requestUrl = URLExt.join(settings.baseUrl, 'hxb-lab/api', endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(requestUrl, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      console.warn('hxb-lab: not a JSON response body', response);
    }
  }

  if (!response.ok) {
    const message =
      data && typeof data === 'object' && typeof data.message === 'string'
        ? data.message
        : `${response.status} ${response.statusText}`.trim();
    throw new ServerConnection.ResponseError(response, message);
  }

  return data as T;
}
