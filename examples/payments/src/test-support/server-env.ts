/**
 * The environment of a payments server a test starts as a child process: the parent's, minus
 * every `DROVER_*` and `PAYMENTS_*` setting (a developer's shell must not change what the test
 * runs), plus `settings`; a setting of `undefined` removes that variable.
 *
 * @example
 * spawn(process.execPath, [main], { env: serverEnv({ DROVER_PORT: "0", DROVER_DATA_DIR: dir }) });
 */
export function serverEnv(settings: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("DROVER_") && !key.startsWith("PAYMENTS_")) env[key] = value;
  }
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
