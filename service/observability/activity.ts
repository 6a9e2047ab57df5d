// What the dashboard draws: throughput and latency sampled every 2 s (the last
// 5 minutes), and the most recent error responses; and, for each index's page in
// the console, the latest errors on it (GET /v1/indexes/{name}/errors).
export interface Sample {
  at: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface RecentError {
  at: number;
  method: string;
  route: string;
  status: number;
  code: string;
  tenant: string;
  requestId: string;
  /** The index the request named (a /v1/indexes/{name} route). */
  index?: string;
  message?: string;
}

const quantile = (sorted: number[], q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

export class Activity {
  private durations: number[] = [];
  private errorsInWindow = 0;
  private readonly samples: Sample[] = [];
  private readonly errors: RecentError[] = [];
  /** Errors on named indexes, of every tenant: a ring of its own, so one index's page is not emptied by the service's other errors. */
  private readonly indexErrors: RecentError[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 2_000,
    private readonly keepSamples = 150,
    private readonly keepErrors = 50,
    private readonly keepIndexErrors = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  record(durationMs: number, error?: RecentError): void {
    this.durations.push(durationMs);
    if (error) {
      this.errorsInWindow++;
      this.errors.push(error);
      if (this.errors.length > this.keepErrors) this.errors.shift();
      if (error.index !== undefined) {
        this.indexErrors.push(error);
        if (this.indexErrors.length > this.keepIndexErrors) this.indexErrors.shift();
      }
    }
  }

  /** The latest errors on one tenant's index, newest first (among the last keepIndexErrors on any index). */
  errorsOf(tenant: string, index: string, limit: number): RecentError[] {
    const out: RecentError[] = [];
    for (let i = this.indexErrors.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.indexErrors[i];
      if (e.tenant === tenant && e.index === index) out.push(e);
    }
    return out;
  }

  snapshot(): { intervalMs: number; samples: Sample[]; errors: RecentError[] } {
    return { intervalMs: this.intervalMs, samples: [...this.samples], errors: [...this.errors].reverse() };
  }

  private sample(): void {
    const sorted = this.durations.sort((a, b) => a - b);
    this.samples.push({
      at: Date.now(),
      requestsPerSecond: sorted.length / (this.intervalMs / 1000),
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      errors: this.errorsInWindow,
    });
    if (this.samples.length > this.keepSamples) this.samples.shift();
    this.durations = [];
    this.errorsInWindow = 0;
  }
}
