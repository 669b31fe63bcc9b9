/** One ratio of the report: a figure against its target (`met` null when there is no target). */
export interface Ratio {
  readonly name: string;
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
}
