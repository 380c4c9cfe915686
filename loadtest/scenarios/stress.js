// Stress: arrival rate ramped in steps up to PEAK_RATE (default 2,000 req/s, the old service's
// stress ceiling), held, then ramped down. Finds where latency bends and errors or 429s start.
import { boundedDuration, boundedNumber, checkTarget, durationSeconds, predict, rampingRateOptions } from '../lib/common.js';

const peak = boundedNumber('PEAK_RATE', 2000, 10, 20000);
const step = boundedDuration('STEP', '15s', 600);
const stepSeconds = durationSeconds(step);
const half = `${Math.max(1, Math.round(stepSeconds / 2))}s`;

// 4 ramps of one STEP each, each followed by a hold of one STEP, then a short ramp down.
export const options = rampingRateOptions('stress', {
  startRate: Math.round(peak / 20),
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
});

export const setup = checkTarget;
export default predict;
