// Talking to the drover API: the token (kept in sessionStorage, sent as a header, never in a
// URL), JSON calls, and RFC 9457 problems as errors. The bodies are the server's own types,
// from @drover/http/wire.
import type { Json, ProblemBody } from "@drover/http/wire";

/**
 * A problem as an {@link ApiError} holds it: the server's problem body, or one made up from
 * an error answer that is not a problem (a proxy's page), which has no `type` or `kind`.
 */
export type ApiProblem = Partial<ProblemBody> & Pick<ProblemBody, "title" | "status">;

/** A call answered with an error status. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ApiProblem;

  constructor(problem: ApiProblem) {
    super(problem.detail ?? problem.title);
    this.status = problem.status;
    this.problem = problem;
  }
}

const TOKEN_KEY = "drover.token";

/** The token of this browser tab's session (sessionStorage: gone when the tab closes). */
export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

const unauthorizedListeners = new Set<() => void>();

/** Called when the API answers 401: the token is gone or no longer valid. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface CallOptions {
  readonly method?: "GET" | "POST" | "PUT" | "DELETE";
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Use this token instead of the session's (to check one before keeping it). */
  readonly token?: string;
  readonly signal?: AbortSignal;
}

/** Call the API with the session's token; resolves with the JSON body, rejects with {@link ApiError}. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const token = options.token ?? session.token();
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    cache: "no-store",
    credentials: "omit",
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    if (response.status === 401 && options.token === undefined)
      for (const listener of unauthorizedListeners) listener();
    const problem =
      json !== null && typeof json === "object" && "title" in json
        ? (json as ProblemBody)
        : { title: response.statusText || "Error", status: response.status, detail: text.slice(0, 500) };
    throw new ApiError(problem);
  }
  return json as T;
}

/** A path segment, percent-encoded (ids and intent ids may hold `/`, `?`, `#`…). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** The `type` of an event or intent, or `?`. */
export function typeOf(value: Json | undefined): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const type = (value as { readonly [key: string]: Json }).type;
    if (typeof type === "string") return type;
  }
  return "?";
}
