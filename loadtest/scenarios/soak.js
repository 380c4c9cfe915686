// Soak: a moderate constant rate for a long, configurable DURATION (default 30m, at most 24h):
// looks for leaks, slow drift and environment recycling under sustained traffic.
import { SUMMARY_TREND_STATS, boundedDuration, boundedNumber, checkTarget, droppedThreshold, predict, thresholds } from '../lib/common.js';

const duration = boundedDuration('DURATION', '30m', 24 * 3600);
const rate = boundedNumber('RATE', 100, 1, 5000);

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration,
      preAllocatedVUs: Math.min(50, Math.ceil(rate / 4) + 4),
      maxVUs: boundedNumber('MAX_VUS', 200, 1, 2000),
      gracefulStop: '10s',
    },
  },
  // A steady rate the target cannot keep up with shows as iterations k6 had no free VU for.
  thresholds: { ...thresholds({ p99Ms: 105, maxErrorRate: 0.001 }), ...droppedThreshold(rate, duration) },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export const setup = checkTarget;
export default predict;
