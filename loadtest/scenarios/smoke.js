// Smoke: a few seconds, two VUs, a fixed number of requests. Proves the target answers well-formed
// scores for varied payloads; CI runs it. Every error fails it.
import { SUMMARY_TREND_STATS, boundedNumber, checkTarget, predict, thresholds } from '../lib/common.js';

export const options = {
  scenarios: {
    smoke: {
      executor: 'shared-iterations',
      vus: boundedNumber('VUS', 2, 1, 20),
      iterations: boundedNumber('ITERATIONS', 100, 1, 10000),
      maxDuration: '30s',
      gracefulStop: '5s',
    },
  },
  // Generous p99: a smoke run may include the cold start of a second execution environment.
  thresholds: thresholds({ p99Ms: 3000, maxErrorRate: 0 }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export const setup = checkTarget;
export default predict;
