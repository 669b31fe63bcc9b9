/** A progress bar on `stream` (a terminal): `label [####------] done/total`, erased when done. */
export interface ProgressBar {
  /** One more done. */
  tick(): void;
  /** `done` done so far. */
  set(done: number): void;
  /** Erase the bar. */
  done(): void;
}

/**
 * A {@link ProgressBar} on stderr when it is a terminal and the output is not JSON, else
 * nothing: a pipe or a script gets no carriage returns.
 */
export function progressBar(
  stream: NodeJS.WritableStream,
  label: string,
  total: number,
  json: boolean,
): ProgressBar | undefined {
  if (json || (stream as NodeJS.WriteStream).isTTY !== true) return undefined;
  let count = 0;
  const width = 30;
  const draw = () => {
    const filled = total === 0 ? width : Math.min(width, Math.round((count / total) * width));
    stream.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${count}/${total}`);
  };
  draw();
  return {
    tick() {
      count++;
      if (count === total || count % 25 === 0) draw();
    },
    set(done) {
      count = done;
      draw();
    },
    done() {
      stream.write("\r\u001b[2K");
    },
  };
}
