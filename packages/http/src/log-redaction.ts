import type { FastifyBaseLogger } from "fastify";

/** What replaces a query parameter's value in a logged URL. */
export const REDACTED = "[redacted]";

/**
 * `url` as it may be logged: the path as is, each query parameter's name kept and its value
 * replaced by `[redacted]` — a client may put a token there (`?access_token=drv_…`), and a log
 * is read by more people than the API is.
 *
 * @example
 * redactedUrl("/v1/payments/pay_1?access_token=drv_x&limit=5"); // "/v1/payments/pay_1?access_token=[redacted]&limit=[redacted]"
 */
export function redactedUrl(url: string): string {
  const mark = url.indexOf("?");
  if (mark === -1) return url;
  const query = url
    .slice(mark + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      return equals === -1 ? pair : `${pair.slice(0, equals)}=${REDACTED}`;
    });
  return `${url.slice(0, mark)}?${query.join("&")}`;
}

/** The request as Fastify's logs show it (`req`), by its own serializer's fields, the URL redacted. */
interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number; readonly remoteAddress?: string } | null;
}

function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: typeof request.url === "string" ? redactedUrl(request.url) : undefined,
    host: request.host,
    remoteAddress: request.ip ?? request.socket?.remoteAddress,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * A child of `logger` for the server's request logs, which never carry a secret: `req.url`
 * with its query values redacted (see {@link redactedUrl}), and the values of credential
 * headers (`authorization`, `cookie`, `proxy-authorization`) censored wherever a log line
 * carries request headers. Fastify's own request serializer gives way to this one.
 */
export function requestLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  const secrets = ["authorization", "cookie", "proxy-authorization"];
  return logger.child(
    {},
    {
      serializers: { req: serializeRequest },
      redact: {
        paths: secrets.flatMap((name) => [
          `req.headers["${name}"]`,
          `headers["${name}"]`,
          `request.headers["${name}"]`,
        ]),
        censor: REDACTED,
      },
    },
  );
}
