// Soak: a moderate constant rate for a long, configurable DURATION (default 30m, at most 24h):
// looks for leaks, slow drift and environment recycling under sustained traffic.
import { checkTarget, predict, steadyRateOptions } from '../lib/common.js';

export const options = steadyRateOptions('soak', { defaultDuration: '30m', maxSeconds: 24 * 3600, defaultRate: 100 });

export const setup = checkTarget;
export default predict;
