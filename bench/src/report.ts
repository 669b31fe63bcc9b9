import type { BenchReport, Ratio } from "./harness.js";
import { RssContestant } from "./rss.js";
import type { TracingReport } from "./tracing.js";

/** The report as the tables `npm run bench` prints (Markdown, so the README can hold it as is). */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const { machine } = report;
  lines.push(
    `drover benchmark (${report.mode}), ${report.startedAt}: node ${machine.node}, SQLite ${machine.sqlite}, ` +
      (machine.postgres === undefined
        ? ""
        : `PostgreSQL ${machine.postgres.version} (shared_buffers ${machine.postgres.sharedBuffers}), `) +
      `${machine.cpus} × ${machine.cpuModel}; load average ${machine.loadAverageBefore.join(" ")} before, ` +
      `${machine.loadAverageAfter.join(" ")} after; ${report.rounds} round(s), median shown; ${report.durationSeconds.toFixed(0)} s`,
  );
  lines.push(`Durability: ${report.durability}.`);
  lines.push("");
  lines.push("| contestant | durability | events | events/s | p50 ms | p99 ms | notes |");
  lines.push("|---|---|---:|---:|---:|---:|---|");
  for (const r of report.contestants) {
    const notes = [...r.notes, ...(r.error === undefined ? [] : [r.error])];
    if (r.runs.length > 1) notes.unshift(`runs: ${r.runs.join(", ")}`);
    lines.push(
      `| ${r.label} | ${r.durability} | ${r.events.toLocaleString("en-US")} | ${num(r.eventsPerSecond, 0)} | ${num(r.p50Ms, 3)} | ${num(r.p99Ms, 3)} | ${notes.join("; ").replaceAll("|", "/")} |`,
    );
  }
  lines.push("");
  lines.push("| ratio | value | target | met |");
  lines.push("|---|---:|---|---|");
  const all: Ratio[] = [
    ...report.ratios,
    ...(report.scale === undefined ? [] : [report.scale.ratio]),
    ...(report.http?.ratios ?? []),
    ...(report.nats?.ratios ?? []),
    ...(report.tracing?.ratios ?? []),
    ...(report.rss === undefined
      ? []
      : [report.rss.ratio, report.rss.cappedRatio, report.rss.settled, report.rss.rawRatio]),
  ];
  for (const ratio of all) {
    lines.push(`| ${ratio.name} | ${num(ratio.value, 2)}× | ${ratio.target} | ${met(ratio.met)} |`);
  }
  if (report.scale !== undefined) {
    lines.push("");
    lines.push("| scale: entities | timed events | events/s | µs/event | p99 ms |");
    lines.push("|---:|---:|---:|---:|---:|");
    for (const p of report.scale.points) {
      lines.push(
        `| ${p.entities.toLocaleString("en-US")} | ${p.events.toLocaleString("en-US")} | ${num(p.eventsPerSecond, 0)} | ${num(p.usPerEvent, 1)} | ${num(p.p99Ms, 3)} |`,
      );
    }
  }
  if (report.http !== undefined) {
    lines.push("");
    lines.push("| HTTP: contestant | durability | requests | requests/s | p50 ms | p99 ms | notes |");
    lines.push("|---|---|---:|---:|---:|---:|---|");
    for (const r of report.http.rows) {
      lines.push(
        `| ${r.label} | ${r.durability} | ${r.requests.toLocaleString("en-US")} | ${num(r.requestsPerSecond, 0)} | ${num(r.p50Ms, 1)} | ${num(r.p99Ms, 1)} | ${r.notes.join("; ")}${r.consistent ? "" : "; INCONSISTENT"} |`,
      );
    }
  }
  if (report.nats !== undefined) {
    lines.push("");
    lines.push(
      "| NATS: contestant | durability | events | events/s applied | publisher events/s | step p50 ms | step p99 ms | notes |",
    );
    lines.push("|---|---|---:|---:|---:|---:|---:|---|");
    for (const r of report.nats.rows) {
      const notes = [
        ...(r.runs.length > 1 ? [`runs: ${r.runs.join(", ")}`] : []),
        ...r.notes,
        ...(r.error === undefined ? [] : [r.error]),
      ];
      lines.push(
        `| ${r.label} | ${r.durability} | ${r.events.toLocaleString("en-US")} | ${num(r.eventsPerSecond, 0)} | ${num(r.publishedPerSecond, 0)} | ${num(r.p50Ms, 1)} | ${num(r.p99Ms, 1)} | ${notes.join("; ").replaceAll("|", "/")}${r.consistent ? "" : "; INCONSISTENT"} |`,
      );
    }
  }
  if (report.tracing !== undefined) lines.push("", ...tracingTable(report.tracing));
  if (report.rss !== undefined) {
    lines.push("");
    lines.push(
      `| memory: contestant | events | RSS MiB | of it anonymous | JS heap used MiB | JS heap total MiB | events/s in slice |${report.rss.report.gcExposed ? "" : " (no --expose-gc)"}`,
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|");
    const rows = [
      ...report.rss.report.samples.map((s) => [RssContestant.Drover, s] as const),
      ...report.rss.capped.samples.map((s) => ["drover, young generation at its cap", s] as const),
      ...report.rss.raw.samples.map((s) => [RssContestant.RawBatched, s] as const),
    ];
    for (const [who, s] of rows) {
      lines.push(
        `| ${who} | ${s.events.toLocaleString("en-US")} | ${num(s.rssMb, 1)} | ${num(s.anonMb ?? null, 1)} | ${num(s.heapUsedMb, 1)} | ${num(s.heapTotalMb, 1)} | ${num(s.eventsPerSecond, 0)} |`,
      );
    }
  }
  lines.push("");
  lines.push(
    report.consistent
      ? "Consistency: every run applied every event (rows counted)."
      : "Consistency: FAILED — some events were not applied (see notes).",
  );
  return lines.join("\n");
}

/** Issue 18: drover with tracing off and on, and the no-op path alone. */
function tracingTable(tracing: TracingReport): string[] {
  const lines = [
    `| tracing: drover, ${tracing.callers} callers, WAL, synchronous=FULL | events | events/s | µs/event | CPU µs/event | p50 ms | p99 ms | notes |`,
    "|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of tracing.rows) {
    const notes = [...(r.runs.length > 1 ? [`runs: ${r.runs.join(", ")}`] : []), ...r.notes];
    lines.push(
      `| ${r.label} | ${r.events.toLocaleString("en-US")} | ${num(r.eventsPerSecond, 0)} | ${num(r.usPerEvent, 1)} | ${num(r.cpuUsPerEvent, 1)} | ${num(r.p50Ms, 3)} | ${num(r.p99Ms, 3)} | ${notes.join("; ")}${r.consistent ? "" : "; INCONSISTENT"} |`,
    );
  }
  const { noop } = tracing;
  const notes = [
    `${num(noop.nsPerEvent, 1)} ns per event = ${num(noop.shareOfOff * 100, 3)}% of tracing off's µs/event`,
    ...(noop.runs.length > 1 ? [`rounds: ${noop.runs.join(", ")} ns`] : []),
  ];
  lines.push(
    `| ${noop.label} | ${noop.calls.toLocaleString("en-US")} calls | — | ${num(noop.nsPerEvent / 1000, 4)} | ${num(noop.nsPerEvent / 1000, 4)} | — | — | ${notes.join("; ")} |`,
  );
  return lines;
}

function num(value: number | null, digits: number): string {
  if (value === null || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function met(value: boolean | null): string {
  return value === null ? "n/a" : value ? "yes" : "**no**";
}
