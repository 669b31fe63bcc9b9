// `drover serve` is an application: it, not the libraries, sets up the OpenTelemetry SDK — and
// only when the standard environment asks for traces (OTEL_TRACES_EXPORTER, or an OTLP
// endpoint). Otherwise nothing is loaded and the libraries' API calls stay no-ops.
import type { TracerProvider } from "@opentelemetry/api";
import { CliError, ExitCode } from "./exit-code.js";

/** A registered tracer provider, to flush and shut down when the server stops. */
export interface Telemetry {
  readonly provider: TracerProvider;
  /** What it exports to, for the start-up line. */
  readonly description: string;
  shutdown(): Promise<void>;
}

/**
 * Start the SDK if the environment asks for traces: `OTEL_TRACES_EXPORTER` (`otlp`, `console`,
 * `none`), else an `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`;
 * `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` (default) or `http/json`; `OTEL_SERVICE_NAME`
 * (default `fallbackName`) and `OTEL_RESOURCE_ATTRIBUTES`; `OTEL_SDK_DISABLED=true` turns it off.
 * Registers the provider, the async-local context manager and the W3C propagator globally.
 *
 * @example
 * const telemetry = await startTelemetry(process.env, "payments");
 * // … on shutdown
 * await telemetry?.shutdown();
 */
export async function startTelemetry(env: NodeJS.ProcessEnv, fallbackName: string): Promise<Telemetry | undefined> {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? "")) return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporters = named.length > 0 ? named.filter((name) => name !== "none") : endpoint ? ["otlp"] : [];
  if (exporters.length === 0) return undefined;

  const [{ NodeTracerProvider }, base, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/resources"),
  ]);
  const processors = [];
  const described: string[] = [];
  for (const name of exporters) {
    if (name === "console") {
      processors.push(new base.SimpleSpanProcessor(new base.ConsoleSpanExporter()));
      described.push("console");
    } else if (name === "otlp") {
      const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf";
      processors.push(new base.BatchSpanProcessor(await otlpExporter(protocol)));
      described.push(`OTLP ${protocol}${endpoint ? ` to ${endpoint}` : ""}`);
    } else {
      throw new CliError(
        `OTEL_TRACES_EXPORTER=${name} is not supported by drover serve; use otlp, console or none`,
        ExitCode.Usage,
      );
    }
  }
  const detected = resources.detectResources({ detectors: [resources.envDetector] });
  const resource = resources.resourceFromAttributes({ "service.name": fallbackName }).merge(detected);
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  provider.register();
  return {
    provider,
    description: described.join(", "),
    shutdown: () => provider.shutdown(),
  };
}

async function otlpExporter(protocol: string) {
  switch (protocol) {
    case "http/json": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      return new OTLPTraceExporter();
    }
    case "http/protobuf": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
      return new OTLPTraceExporter();
    }
    default:
      throw new CliError(
        `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by drover serve; use http/protobuf or http/json`,
        ExitCode.Usage,
      );
  }
}
