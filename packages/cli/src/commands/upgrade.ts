import type { AnyMachine, App, JournalEntry, UpgradeFailure, UpgradeReport, VersionTally } from "@drover/core";
import { UpgradeFailureKind } from "@drover/core";
import type { Command } from "commander";
import { Option } from "commander";
import { machineNamed } from "../config.js";
import { describeDivergence } from "../divergence.js";
import { CliError, ExitCode } from "../exit-code.js";
import { progressBar } from "../progress.js";
import type { CliIo, CommandContext } from "./context.js";
import { dbOption, wholeNumber, withApp } from "./context.js";

/** Register `drover upgrade`: check (and with --apply, rewrite) a machine's stored states. */
export function upgradeCommand(program: Command, context: CommandContext): Command {
  return program
    .command("upgrade")
    .description(
      "check every stored entity of a machine against the current code: states migrated and parsed, journals replayed (exit 1 on any failure); --apply rewrites older states at the current version",
    )
    .argument("<machine>", "machine name")
    .addOption(new Option("--dry-run", "only check, write nothing (the default)").conflicts("apply"))
    .addOption(
      new Option("--apply", "also rewrite every readable state stored at an older version").conflicts("dryRun"),
    )
    .option("--batch-size <n>", "entities read (and rewritten) per batch (default 200)")
    .addOption(dbOption())
    .action(async (machineName: string, options: { apply?: boolean; batchSize?: string }, command: Command) => {
      const cfg = await context.config(command);
      const machine = machineNamed(cfg, machineName);
      const batchSize = options.batchSize === undefined ? undefined : batchSizeOf(options.batchSize);
      const code = await withApp(context.dbOf(command, cfg), cfg, (app) =>
        upgrade({
          app,
          machine,
          apply: options.apply === true,
          ...(batchSize === undefined ? {} : { batchSize }),
          json: context.globals(command).json === true,
          io: context.io,
        }),
      );
      context.done(code);
    });
}

function batchSizeOf(text: string): number {
  const n = wholeNumber("--batch-size", text);
  if (n === 0) throw new CliError("--batch-size must be at least 1", ExitCode.Usage);
  return n;
}

/** What `drover upgrade` is given. */
export interface UpgradeInput {
  /** Read through (and with `apply`, rewritten through), never started. */
  readonly app: App;
  readonly machine: AnyMachine;
  /** Rewrite readable states stored at an older version (default: a dry run). */
  readonly apply?: boolean;
  readonly batchSize?: number;
  readonly json: boolean;
  readonly io: CliIo;
}

/**
 * Check every stored entity of `machine` against the current code (core's `upgradeMachine`
 * through `app.upgrade`) and print a line per stored state version, the totals and the first
 * failures in detail; `--json` prints the report itself. A progress bar goes to stderr on a
 * terminal. Exit 0 only when the report is ok, else 1 (as `drover replay` on a divergence).
 *
 * @example
 * const code = await upgrade({ app, machine: payments, apply: false, json: false, io });
 */
export async function upgrade({ app, machine, apply = false, batchSize, json, io }: UpgradeInput): Promise<ExitCode> {
  const counts = await app.countStateVersions(machine.name);
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const progress = progressBar(io.stderr, apply ? "upgrading" : "checking", total, json);
  let report: UpgradeReport;
  try {
    report = await app.upgrade(machine.name, {
      apply,
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(progress === undefined ? {} : { onProgress: (checked: number) => progress.set(checked) }),
    });
  } finally {
    progress?.done();
  }
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    io.stdout.write(`${(await describeReport(app, report)).join("\n")}\n`);
  }
  return report.ok ? ExitCode.Ok : ExitCode.Rejected;
}

/** The report for people: a line per stored version, the totals, then the failures kept. */
async function describeReport(app: App, report: UpgradeReport): Promise<string[]> {
  const lines = report.byVersion.map((tally) => describeTally(tally, report.version));
  if (report.entities === 0) lines.push(`no ${report.machine} entities stored`);
  const totals = [
    `${report.machine}: ${plural(report.entities, "entity", "entities")}`,
    `${report.unreadable} unreadable`,
    plural(report.divergences, "divergence", "divergences"),
  ];
  if (report.applied) totals.push(`${report.rewritten} rewritten`, `${report.movedOn} moved on (run again)`);
  lines.push(totals.join(", "));
  const failed = report.unreadable + report.divergences;
  if (report.failures.length > 0) {
    const shown = report.failures.length < failed ? `first ${report.failures.length} of ${failed}` : `${failed}`;
    lines.push(`failures (${shown}):`);
    const journals = await journalsOf(app, report);
    for (const failure of report.failures) lines.push(describeFailure(report.machine, failure, journals));
  }
  if (!report.applied) lines.push(nextStep(report));
  return lines;
}

function describeTally(tally: VersionTally, version: number): string {
  const at = plural(tally.entities, "entity", "entities");
  const where =
    tally.stateVersion < version
      ? `at v${tally.stateVersion} → v${version}`
      : tally.stateVersion === version
        ? `at v${version}`
        : `at v${tally.stateVersion}, newer than the code (v${version})`;
  return tally.unreadable === 0 ? `${at} ${where} ok` : `${at} ${where}: ${tally.unreadable} unreadable`;
}

function describeFailure(machine: string, failure: UpgradeFailure, journals: Map<string, JournalEntry[]>): string {
  if (failure.kind === UpgradeFailureKind.Unreadable) {
    return `  ${machine} ${failure.id} stored at v${failure.stateVersion}: unreadable: ${failure.message}`;
  }
  const { divergence } = failure;
  const entry = journals.get(failure.id)?.find((e) => e.version === divergence.version);
  return describeDivergence(divergence, entry)
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

/** The journals of the entities whose divergences are shown, for their event types. */
async function journalsOf(app: App, report: UpgradeReport): Promise<Map<string, JournalEntry[]>> {
  const ids = new Set(report.failures.flatMap((f) => (f.kind === UpgradeFailureKind.Divergence ? [f.id] : [])));
  const journals = new Map<string, JournalEntry[]>();
  for (const id of ids) journals.set(id, await app.history({ machine: report.machine, id }));
  return journals;
}

function nextStep(report: UpgradeReport): string {
  const older = report.byVersion.filter((t) => t.stateVersion < report.version).reduce((sum, t) => sum + t.readable, 0);
  if (!report.ok) return "dry run, nothing written: fix the migrations or the code, then run it again";
  if (older === 0) return "dry run, nothing written: every state is at the current version";
  return `dry run, nothing written: drover upgrade ${report.machine} --apply rewrites ${plural(older, "state", "states")} at v${report.version}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
