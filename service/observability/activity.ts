// What the dashboard draws: throughput and latency sampled every 2 s (the last
// 5 minutes), and the most recent error responses.
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
}

const quantile = (sorted: number[], q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

export class Activity {
  private durations: number[] = [];
  private errorsInWindow = 0;
  private readonly samples: Sample[] = [];
  private readonly errors: RecentError[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 2_000,
    private readonly keepSamples = 150,
    private readonly keepErrors = 50,
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
    }
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
