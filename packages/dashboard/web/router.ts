// Routes live in the URL's fragment (`#/payments/pay_…`): one static page serves them all,
// and nothing but names of things ever goes into the URL (never the token).
import type { TimerStatus } from "@drover/http/wire";
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { readonly name: "overview" }
  | { readonly name: "machine"; readonly machine: string; readonly prefix: string; readonly status: string }
  | { readonly name: "entity"; readonly machine: string; readonly id: string }
  | { readonly name: "outbox"; readonly status: "pending" | "dead" }
  | { readonly name: "timers"; readonly status: TimerStatus };

/** The timer statuses the Timers page has a tab for. */
export const TIMER_STATUSES = ["pending", "dead", "cancelled", "fired"] as const satisfies readonly TimerStatus[];

/** Read a route from a fragment such as `#/m/payments?status=authorized`. */
export function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?", 2);
  const params = new URLSearchParams(query);
  const parts = path
    .split("/")
    .filter((part) => part !== "")
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  if (parts[0] === "timers") {
    const status = TIMER_STATUSES.find((candidate) => candidate === params.get("status")) ?? "pending";
    return { name: "timers", status };
  }
  if (parts[0] === "outbox") return { name: "outbox", status: params.get("status") === "pending" ? "pending" : "dead" };
  if (parts[0] === "m" && parts[1] !== undefined) {
    if (parts[2] === "e" && parts[3] !== undefined) return { name: "entity", machine: parts[1], id: parts[3] };
    return {
      name: "machine",
      machine: parts[1],
      prefix: params.get("prefix") ?? "",
      status: params.get("status") ?? "",
    };
  }
  return { name: "overview" };
}

/** The fragment of a route, for `href`. */
export function href(route: Route): string {
  switch (route.name) {
    case "overview":
      return "#/";
    case "machine": {
      const params = new URLSearchParams();
      if (route.prefix !== "") params.set("prefix", route.prefix);
      if (route.status !== "") params.set("status", route.status);
      const query = params.toString();
      return `#/m/${encodeURIComponent(route.machine)}${query === "" ? "" : `?${query}`}`;
    }
    case "entity":
      return `#/m/${encodeURIComponent(route.machine)}/e/${encodeURIComponent(route.id)}`;
    case "outbox":
      return `#/outbox?status=${route.status}`;
    case "timers":
      return `#/timers?status=${route.status}`;
    default: {
      const _exhaustive: never = route;
      return _exhaustive;
    }
  }
}

/** Link targets, spelled once. */
export const to = {
  overview: (): string => href({ name: "overview" }),
  machine: (machine: string, filter: { prefix?: string; status?: string } = {}): string =>
    href({ name: "machine", machine, prefix: filter.prefix ?? "", status: filter.status ?? "" }),
  entity: (machine: string, id: string): string => href({ name: "entity", machine, id }),
  outbox: (status: "pending" | "dead" = "dead"): string => href({ name: "outbox", status }),
  timers: (status: TimerStatus = "pending"): string => href({ name: "timers", status }),
};

/** The current route; re-renders on every fragment change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
