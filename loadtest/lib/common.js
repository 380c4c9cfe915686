// Shared by every scenario: target selection, payloads, the request, checks, metrics, thresholds.
//
// Environment (k6 -e NAME=value or the process environment):
//   BASE_URL        target root, default http://127.0.0.1:3000 (no trailing /predict)
//   API_KEY         sent as the x-api-key header (API Gateway usage plans) when set
//   ALLOW_REMOTE=1  needed for any host that is not loopback (a deployed stage): load is not
//                   something to point at someone else's server by accident
//   PAYLOADS        payload file, default ../payloads.json (relative to this file)
//   PREDICT_PATH    default /predict
//   P99_MS, MAX_ERROR_RATE, REQUEST_TIMEOUT   threshold and timeout overrides
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Rate, Trend } from 'k6/metrics';

const env = __ENV;

export const BASE_URL = (env.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const PREDICT_PATH = env.PREDICT_PATH || '/predict';
const API_KEY = env.API_KEY || '';
const REQUEST_TIMEOUT = env.REQUEST_TIMEOUT || '10s';

// ---------------------------------------------------------------- target guard

export function hostOf(url) {
  const match = /^https?:\/\/(\[[^\]]+\]|[^/:?#]+)(:\d+)?(?:[/?#].*)?$/i.exec(url);
  if (!match) {
    throw new Error(`BASE_URL ${JSON.stringify(url)} is not an http(s) URL`);
  }
  return match[1].toLowerCase();
}

export function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const TARGET_HOST = hostOf(BASE_URL);
if (!isLoopback(TARGET_HOST) && env.ALLOW_REMOTE !== '1') {
  throw new Error(
    `refusing to send load to ${TARGET_HOST}: only loopback targets are allowed by default. ` +
      'For a deployed stage you own, set ALLOW_REMOTE=1 (see docs/loadtest.md).',
  );
}

// ---------------------------------------------------------------- bounds

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600 };

// k6 duration string ("90s", "1h30m", "500ms") -> seconds; throws on anything else.
export function durationSeconds(text) {
  const value = String(text).trim();
  const parts = value.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (!parts || parts.join('') !== value) {
    throw new Error(`${JSON.stringify(text)} is not a duration like 30s, 10m or 1h30m`);
  }
  return parts.reduce((total, part) => {
    const [, number, unit] = /(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(part);
    return total + Number(number) * UNIT_SECONDS[unit];
  }, 0);
}

// A duration from the environment, refused when above the scenario's ceiling: every run ends.
export function boundedDuration(name, fallback, maxSeconds) {
  const text = env[name] || fallback;
  const seconds = durationSeconds(text);
  if (seconds <= 0 || seconds > maxSeconds) {
    throw new Error(`${name}=${text} must be more than 0 and at most ${maxSeconds}s`);
  }
  return text;
}

export function boundedNumber(name, fallback, min, max) {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${raw} must be a number in [${min}, ${max}]`);
  }
  return value;
}

// ---------------------------------------------------------------- payloads

// Generated from the training data's distribution and the model manifest's feature names
// (`make loadtest-payloads`); a mix of list and named-feature bodies, some with transaction_id.
const payloads = new SharedArray('payloads', () => {
  const doc = JSON.parse(open(env.PAYLOADS || '../payloads.json'));
  if (!Array.isArray(doc.payloads) || doc.payloads.length === 0) {
    throw new Error('payload file holds no payloads: run `make loadtest-payloads`');
  }
  // The transaction id is looked up once here, not parsed back out of the body per request.
  return doc.payloads.map((body) => ({ body: JSON.stringify(body), tid: body.transaction_id }));
});

// ---------------------------------------------------------------- metrics

// 429s are API Gateway doing its job, not errors: they are counted on their own.
export const throttled = new Counter('throttled_requests');
export const throttledRate = new Rate('throttled_rate');
// Anything that is neither a well-formed score nor a 429 (status, body shape, score range, network).
export const errors = new Rate('errors');
export const errorCount = new Counter('error_requests');
// End-to-end latency of answered predictions only (429s are fast and would flatter the figures).
export const scoredLatency = new Trend('scored_latency', true);
export const serverInference = new Trend('server_inference_ms', true);
export const flagged = new Rate('flagged_fraud');

const HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };
if (API_KEY) {
  HEADERS['x-api-key'] = API_KEY;
}

function parseJson(res) {
  try {
    return JSON.parse(res.body);
  } catch (_) {
    return null;
  }
}

export function validScore(body, sentTransactionId) {
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof body.fraud_score === 'number' &&
    body.fraud_score >= 0 &&
    body.fraud_score <= 1 &&
    typeof body.is_fraud === 'boolean' &&
    typeof body.threshold === 'number' &&
    body.is_fraud === body.fraud_score >= body.threshold &&
    typeof body.model_version === 'string' &&
    body.model_version.length > 0 &&
    (sentTransactionId === undefined || body.transaction_id === sentTransactionId)
  );
}

// One POST /predict with a payload picked by the iteration counter (every VU walks the whole set).
export function predict() {
  const payload = payloads[(__VU * 7919 + __ITER) % payloads.length];
  const sentTransactionId = payload.tid;
  const res = http.post(`${BASE_URL}${PREDICT_PATH}`, payload.body, {
    headers: HEADERS,
    timeout: REQUEST_TIMEOUT,
    tags: { name: 'predict' },
  });
  if (res.status === 429) {
    throttled.add(1);
    throttledRate.add(true);
    errors.add(false);
    check(res, { 'throttled: API Gateway body': (r) => (parseJson(r) || {}).message === 'Too Many Requests' });
    return;
  }
  throttled.add(0);
  throttledRate.add(false);
  const parsed = parseJson(res);
  const ok = check(res, {
    'status is 200': (r) => r.status === 200,
    'body has fraud_score, is_fraud, threshold, model_version': () =>
      parsed !== null &&
      typeof parsed.fraud_score === 'number' &&
      typeof parsed.is_fraud === 'boolean' &&
      typeof parsed.threshold === 'number' &&
      typeof parsed.model_version === 'string',
    'fraud_score in [0, 1] and consistent with is_fraud': () => validScore(parsed, undefined),
    'transaction_id echoed': () => sentTransactionId === undefined || (parsed || {}).transaction_id === sentTransactionId,
  });
  errors.add(!ok);
  errorCount.add(ok ? 0 : 1);
  if (ok) {
    scoredLatency.add(res.timings.duration);
    flagged.add(parsed.is_fraud);
    if (typeof parsed.inference_time_ms === 'number') {
      serverInference.add(parsed.inference_time_ms);
    }
  }
}

// setup(): one request before the clock starts, so a dead target fails in a second with a clear
// message instead of after the whole scenario. Also warms one execution environment.
export function checkTarget() {
  const res = http.post(`${BASE_URL}${PREDICT_PATH}`, payloads[0].body, {
    headers: HEADERS,
    timeout: '30s',
    tags: { name: 'setup' },
  });
  if (res.status !== 200 || !validScore(parseJson(res), payloads[0].tid)) {
    throw new Error(
      `target ${BASE_URL}${PREDICT_PATH} did not answer a valid score: status ${res.status} ${res.error || ''} ` +
        `body ${String(res.body).slice(0, 200)}`,
    );
  }
  return { target: BASE_URL, modelVersion: parseJson(res).model_version };
}

// p99 of answered predictions and the error rate; both overridable from the environment.
export function thresholds(defaults) {
  const p99 = boundedNumber('P99_MS', defaults.p99Ms, 1, 600000);
  const maxErrorRate = boundedNumber('MAX_ERROR_RATE', defaults.maxErrorRate, 0, 1);
  const result = {
    scored_latency: [`p(99)<${p99}`],
    errors: [maxErrorRate === 0 ? 'rate==0' : `rate<${maxErrorRate}`],
  };
  if (env.MAX_THROTTLED_RATE !== undefined && env.MAX_THROTTLED_RATE !== '') {
    result.throttled_rate = [`rate<=${boundedNumber('MAX_THROTTLED_RATE', 1, 0, 1)}`];
  }
  return result;
}

// At most MAX_DROPPED_SHARE (default 1 %) of a constant-rate run's iterations may be dropped.
export function droppedThreshold(rate, duration) {
  const share = boundedNumber('MAX_DROPPED_SHARE', 0.01, 0, 1);
  return { dropped_iterations: [`count<=${Math.floor(rate * durationSeconds(duration) * share)}`] };
}

export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'];

// Options of a ramping-rate scenario (stress, spike): the arrival rate follows `stages` from
// `startRate`. Past the knee some latency is expected, so the bar is a 1 s p99; errors (not 429s)
// must stay under 1 %.
export function rampingRateOptions(name, { startRate, stages }) {
  return {
    scenarios: {
      [name]: {
        executor: 'ramping-arrival-rate',
        startRate,
        timeUnit: '1s',
        stages,
        preAllocatedVUs: 50,
        maxVUs: boundedNumber('MAX_VUS', 400, 1, 5000),
        gracefulStop: '10s',
      },
    },
    thresholds: thresholds({ p99Ms: 1000, maxErrorRate: 0.01 }),
    summaryTrendStats: SUMMARY_TREND_STATS,
  };
}

// Options of a steady-rate scenario (load, soak): RATE req/s for DURATION (bounded by maxSeconds),
// judged by the old service's p99 (105 ms) and a 0.1 % error rate. A rate the target cannot keep
// up with shows as iterations k6 had no free VU for (droppedThreshold).
export function steadyRateOptions(name, { defaultDuration, maxSeconds, defaultRate }) {
  const duration = boundedDuration('DURATION', defaultDuration, maxSeconds);
  const rate = boundedNumber('RATE', defaultRate, 1, 5000);
  return {
    scenarios: {
      [name]: {
        executor: 'constant-arrival-rate',
        rate,
        timeUnit: '1s',
        duration,
        preAllocatedVUs: Math.min(50, Math.ceil(rate / 4) + 4),
        maxVUs: boundedNumber('MAX_VUS', 200, 1, 2000),
        gracefulStop: '10s',
      },
    },
    thresholds: { ...thresholds({ p99Ms: 105, maxErrorRate: 0.001 }), ...droppedThreshold(rate, duration) },
    summaryTrendStats: SUMMARY_TREND_STATS,
  };
}

// 429 is an expected answer for k6's own http_req_failed too; our `errors` metric is the judge.
http.setResponseCallback(http.expectedStatuses(200, 429));
