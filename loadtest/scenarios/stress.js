// Stress: arrival rate ramped in steps up to PEAK_RATE (default 2,000 req/s, the old service's
// stress ceiling), held, then ramped down. Finds where latency bends and errors or 429s start.
import { SUMMARY_TREND_STATS, boundedDuration, boundedNumber, checkTarget, durationSeconds, predict, thresholds } from '../lib/common.js';

const peak = boundedNumber('PEAK_RATE', 2000, 10, 20000);
const step = boundedDuration('STEP', '15s', 600);
const stepSeconds = durationSeconds(step);
const half = `${Math.max(1, Math.round(stepSeconds / 2))}s`;

export const options = {
  scenarios: {
    stress: {
      executor: 'ramping-arrival-rate',
      startRate: Math.round(peak / 20),
      timeUnit: '1s',
      // 4 ramps of one STEP each, each followed by a hold of one STEP, then a short ramp down.
      stages: [
        { target: Math.round(peak * 0.25), duration: step },
        { target: Math.round(peak * 0.25), duration: step },
        { target: Math.round(peak * 0.5), duration: step },
        { target: Math.round(peak * 0.5), duration: step },
        { target: Math.round(peak * 0.75), duration: step },
        { target: Math.round(peak * 0.75), duration: step },
        { target: peak, duration: step },
        { target: peak, duration: step },
        { target: 0, duration: half },
      ],
      preAllocatedVUs: 50,
      maxVUs: boundedNumber('MAX_VUS', 400, 1, 5000),
      gracefulStop: '10s',
    },
  },
  // Past the knee some latency is expected; errors (not 429s) must stay rare.
  thresholds: thresholds({ p99Ms: 1000, maxErrorRate: 0.01 }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export const setup = checkTarget;
export default predict;
