// Load: a steady 200 req/s, the rate the old service published its p99 (105 ms) at.
import { SUMMARY_TREND_STATS, boundedDuration, boundedNumber, checkTarget, droppedThreshold, predict, thresholds } from '../lib/common.js';

const duration = boundedDuration('DURATION', '60s', 3600);
const rate = boundedNumber('RATE', 200, 1, 5000);

export const options = {
  scenarios: {
    load: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration,
      preAllocatedVUs: Math.min(50, Math.ceil(rate / 4) + 4),
      maxVUs: boundedNumber('MAX_VUS', 200, 1, 2000),
      gracefulStop: '10s',
    },
  },
  // The old service's figure at this rate is the bar: ours must be far below it.
  // A steady rate the target cannot keep up with shows as iterations k6 had no free VU for.
  thresholds: { ...thresholds({ p99Ms: 105, maxErrorRate: 0.001 }), ...droppedThreshold(rate, duration) },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export const setup = checkTarget;
export default predict;
