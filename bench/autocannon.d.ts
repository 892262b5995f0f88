/**
 * The part of autocannon 8's API the bench uses (the package ships no types).
 */
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  /** A request template; `setupRequest` runs before every request. */
  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  }

  /** Options of a run. */
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    pipelining?: number;
    duration?: number;
    amount?: number;
    overallRate?: number;
    timeout?: number;
    requests?: AutocannonRequest[];
    headers?: Record<string, string>;
    excludeErrorStats?: boolean;
    skipAggregateResult?: boolean;
  }

  /** Aggregate result (only the fields the bench reads). */
  export interface AutocannonResult {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    requests: { total: number; average: number };
    throughput: { total: number; average: number };
    statusCodeStats: Record<string, { count: number }>;
  }

  /** A running instance. */
  export interface AutocannonInstance extends EventEmitter {
    stop(): void;
  }

  function autocannon(
    options: AutocannonOptions,
    callback: (err: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
  export default autocannon;
}
