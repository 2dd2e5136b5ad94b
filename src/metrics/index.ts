/** Prometheus metrics of a node: its own registry, a metering store decorator, scrape-time gauges, the `/metrics` route. */
export { NodeMetrics, statusLabel, type NodeMetricsOptions } from './node-metrics.js';
export { withMetrics } from './metered-store.js';
export { registerScrapeGauges, type ScrapeSources, type RunnerState } from './scrape-gauges.js';
export { metricsRoute } from './metrics-route.js';
export { processRegistry } from './process-metrics.js';
