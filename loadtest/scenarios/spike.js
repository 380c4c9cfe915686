// Spike: a steady BASE_RATE (default 100 req/s), then in 2 s a jump to SPIKE_FACTOR (default 20)
// times that, held for HOLD, then back down and a recovery period at the base rate.
import { boundedDuration, boundedNumber, checkTarget, predict, rampingRateOptions } from '../lib/common.js';

const base = boundedNumber('BASE_RATE', 100, 1, 1000);
const factor = boundedNumber('SPIKE_FACTOR', 20, 2, 100);
const peak = Math.round(base * factor);
const calm = boundedDuration('CALM', '15s', 600);
const hold = boundedDuration('HOLD', '10s', 600);

export const options = rampingRateOptions('spike', {
  startRate: base,
  stages: [
    { target: base, duration: calm },
    { target: peak, duration: '2s' },
    { target: peak, duration: hold },
    { target: base, duration: '2s' },
    { target: base, duration: calm },
  ],
});

export const setup = checkTarget;
export default predict;
