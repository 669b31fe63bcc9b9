// A part of an application that runs beside the runtime — a broker transport, say — and that
// the operator surfaces (health, metrics) report on without knowing what it is. The HTTP
// server reads attached components for `/healthz` and `/metrics`; core knows no broker.

/** A component's health: `ok` false means it cannot do its job right now (it may recover). */
export interface ComponentHealth {
  readonly ok: boolean;
  /** A short word for dashboards and probes, e.g. `connected`, `reconnecting`. */
  readonly status: string;
  readonly detail?: string;
}

/** One metric family a component reports; counters only grow, gauges are read at scrape time. */
export interface MetricFamily {
  /** Prometheus name, e.g. `drover_nats_messages_total`. */
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly samples: readonly { readonly labels?: Readonly<Record<string, string>>; readonly value: number }[];
}

/**
 * Something attached to an {@link App} with `app.attach(component)`.
 *
 * @example
 * app.attach({ name: "nats", health: () => ({ ok: true, status: "connected" }) });
 */
export interface Component {
  /** Unique within an app; the key under which `/healthz` reports it. */
  readonly name: string;
  health(): ComponentHealth;
  metrics?(): Promise<readonly MetricFamily[]>;
}
