import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";
import type { LiveMessage } from "./live.js";
import { live } from "./live.js";

/** A value loaded from the API: the last one, the error if the last load failed, and reload. */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

/**
 * Load `load()` now and whenever `deps` change or {@link Loaded.reload} is called; a newer
 * load wins over an older one that answers late.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const failure = error instanceof Error ? error : new Error(String(error));
        setState((previous) => ({ data: previous.data, error: failure, loading: false }));
      },
    );
    return () => abort.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/**
 * Call `onMatch` when a live message `matches` (`null`: the connection's status changed),
 * at most once per `throttleMs`, so a burst of events does not flood the API with reloads.
 */
export function useLive(
  matches: (message: LiveMessage | null) => boolean,
  onMatch: () => void,
  throttleMs = 300,
): void {
  const current = useRef({ matches, onMatch });
  current.current = { matches, onMatch };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = live.subscribe((message) => {
      if (!current.current.matches(message) || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        current.current.onMatch();
      }, throttleMs);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [throttleMs]);
}

/** Re-render after live messages that `matches` (default: all). */
export function useLiveTick(matches: (message: LiveMessage | null) => boolean = () => true, throttleMs = 250): number {
  const [tick, setTick] = useState(0);
  useLive(matches, () => setTick((n) => n + 1), throttleMs);
  return tick;
}

/** A message for an error, for the page. */
export function describe(error: Error): string {
  if (error instanceof ApiError) {
    return `${error.problem.title}${error.problem.detail === undefined ? "" : `: ${error.problem.detail}`}`;
  }
  return error.message;
}
