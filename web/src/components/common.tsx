import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { NotAvailable } from "../api/types";

/** accessDenied tells an AWS refusal (an SDK AccessDenied error, or HTTP 403) apart. */
export function accessDenied(error: unknown): boolean {
  const e = error as { name?: string; status?: number; $metadata?: { httpStatusCode?: number } };
  return /AccessDenied|NotAuthorized/.test(e?.name ?? "") || e?.status === 403 || e?.$metadata?.httpStatusCode === 403;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  if (accessDenied(error)) {
    return (
      <p class="notice" role="status">
        This page needs you signed in, and some pages are for the operators group only: sign in, or ask an operator.
      </p>
    );
  }
  const msg = error instanceof Error ? error.message : String(error);
  const soft = error instanceof NotAvailable;
  return (
    <p class={soft ? "notice" : "error"} role={soft ? "status" : "alert"}>
      {msg}
    </p>
  );
}

export function Status({ status, testid = "execution-status" }: { status: string; testid?: string }) {
  return (
    <span class={`badge st-${status.toLowerCase()}`} data-testid={testid}>
      {status}
    </span>
  );
}

/** useLoad runs `fn` when deps change and offers reload; stale answers are dropped. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    setLoading(true);
    fn().then(
      (d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        if (n !== seq.current) return;
        setError(e);
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    run();
    return () => {
      seq.current++;
    };
  }, [run]);
  return { data, error, loading, reload: run };
}

/** useInterval calls fn every ms while enabled. */
export function useInterval(fn: () => void, ms: number, enabled = true) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (!enabled) return;
    const id = setInterval(() => ref.current(), ms);
    return () => clearInterval(id);
  }, [ms, enabled]);
}
