// Open-loop load for benchmarks/bench_selfhosted.py: POST /predict at a fixed arrival rate with
// varied rows (a constant row overstates tree-inference speed). Env: BASE, BODIES, RATE, DURATION, SUMMARY.
import http from 'k6/http';
import { SharedArray } from 'k6/data';

const bodies = new SharedArray('bodies', () => JSON.parse(open(__ENV.BODIES)));
const params = { headers: { 'content-type': 'application/json' } };

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
  scenarios: {
    fixed_rate: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE),
      timeUnit: '1s',
      duration: __ENV.DURATION,
      preAllocatedVUs: 64,
      maxVUs: 256,
    },
  },
};

export default function () {
  http.post(`${__ENV.BASE}/predict`, bodies[Math.floor(Math.random() * bodies.length)], params);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
