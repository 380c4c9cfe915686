// Cross-check of benchmarks/bench_emulator.py with k6: POST /predict at a constant arrival rate
// against an already running emulator (make serve SERVE_ARGS="--no-throttling --concurrency 8").
// k6 run -e BASE_URL=http://127.0.0.1:3000 -e RATE=250 -e DURATION=15s -e VUS=8 benchmarks/emulator_k6.js
import http from "k6/http";
import { check } from "k6";

const BASE_URL = __ENV.BASE_URL || "http://127.0.0.1:3000";
const RATE = parseInt(__ENV.RATE || "250", 10);
const DURATION = __ENV.DURATION || "15s";
const VUS = parseInt(__ENV.VUS || "8", 10);

export const options = {
  scenarios: {
    constant: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: DURATION,
      // No more VUs than the emulator's --concurrency: more in-flight requests than environments
      // are throttled by Lambda (API Gateway answers 500), as on AWS with a concurrency limit.
      preAllocatedVUs: VUS,
      maxVUs: VUS,
    },
  },
  summaryTrendStats: ["med", "p(95)", "p(99)", "max"],
};

// Varied rows (30 features each): a constant row overstates tree-inference speed.
function row(i) {
  const f = [((i * 7919) % 172800) + 0.5];
  for (let k = 1; k <= 28; k++) f.push(Math.sin(i * 0.37 + k) * 2.5);
  f.push(((i * 31) % 500) + 0.99);
  return JSON.stringify({ features: f });
}
const BODIES = Array.from({ length: 512 }, (_, i) => row(i));

export default function () {
  const res = http.post(`${BASE_URL}/predict`, BODIES[__ITER % BODIES.length], {
    headers: { "Content-Type": "application/json" },
  });
  check(res, { "status 200": (r) => r.status === 200 });
}
