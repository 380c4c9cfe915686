// Load: a steady 200 req/s, the rate the old service published its p99 (105 ms) at; the old
// service's figure at this rate is the bar, ours must be far below it.
import { checkTarget, predict, steadyRateOptions } from '../lib/common.js';

export const options = steadyRateOptions('load', { defaultDuration: '60s', maxSeconds: 3600, defaultRate: 200 });

export const setup = checkTarget;
export default predict;
