import { rate } from "./format.js";

export interface SparklineProps {
  readonly label: string;
  readonly values: readonly number[];
  /** The current value as shown beside the line. */
  readonly current: string;
  readonly unit?: string;
  readonly tone?: "accent" | "ok" | "warn" | "bad";
}

const WIDTH = 160;
const HEIGHT = 40;

/**
 * A small line chart of the last values, drawn as SVG. The numbers are also in its text, for
 * screen readers and for anyone who does not read charts.
 */
export function Sparkline({ label, values, current, unit, tone = "accent" }: SparklineProps) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  const points = values
    .map((value, index) => `${(index * step).toFixed(1)},${(HEIGHT - 2 - (value / max) * (HEIGHT - 4)).toFixed(1)}`)
    .join(" ");
  const summary = `${label}: ${current}${unit === undefined ? "" : ` ${unit}`} now, highest ${rate(max)} in the last ${values.length} samples`;
  return (
    <figure class={`spark spark-${tone}`}>
      <figcaption>
        <span class="spark-label">{label}</span>
        <span class="spark-value">
          {current}
          {unit === undefined ? null : <small> {unit}</small>}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-label={summary}>
        <line x1="0" y1={HEIGHT - 1} x2={WIDTH} y2={HEIGHT - 1} class="spark-axis" />
        {values.length > 1 ? <polyline points={points} class="spark-line" /> : null}
      </svg>
    </figure>
  );
}
