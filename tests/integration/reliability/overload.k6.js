// Open-loop overload for the reliability tests: RATE req/s for SECONDS against BASE_URL/predict.
// constant-arrival-rate starts iterations on schedule whatever the answers do; dropped_iterations
// counts any the generator itself could not start. Status counts and the 200s' latency are custom
// metrics so that the summary holds the whole answer mix.
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";

const BASE_URL = __ENV.BASE_URL || "http://127.0.0.1:3000";
const RATE = parseInt(__ENV.RATE || "250", 10);
const SECONDS = parseInt(__ENV.SECONDS || "10", 10);

const statusCount = {};
for (const s of [0, 200, 400, 403, 413, 422, 429, 500, 502, 503, 504]) {
  statusCount[s] = new Counter(`status_${s}`);
}
const otherStatus = new Counter("status_other");
const okLatency = new Trend("latency_200", true);
const throttledLatency = new Trend("latency_429", true);

export const options = {
  discardResponseBodies: true,
  scenarios: {
    overload: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${SECONDS}s`,
      preAllocatedVUs: 400, // allocating VUs mid-run makes k6 drop iterations on a busy machine
      maxVUs: 800,
      gracefulStop: "30s",
    },
  },
  summaryTrendStats: ["min", "med", "p(90)", "p(99)", "max", "count"],
};

export default function () {
  const row = [];
  for (let k = 0; k < 30; k++) row.push(Math.round(Math.sin(__ITER * 0.7 + k) * (k + 1) * 1e4) / 1e4);
  row[29] = __ITER % 500;
  const res = http.post(`${BASE_URL}/predict`, JSON.stringify({ features: row }), {
    headers: { "Content-Type": "application/json" },
    timeout: "30s",
  });
  const counter = statusCount[res.status];
  if (counter) counter.add(1);
  else otherStatus.add(1);
  if (res.status === 200) okLatency.add(res.timings.duration);
  if (res.status === 429) throttledLatency.add(res.timings.duration);
}
