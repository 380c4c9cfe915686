"""Command line: read the template, start the function pools, serve the REST API with uvicorn."""

from __future__ import annotations

import argparse
import atexit
import logging
import secrets
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway_emulator.gateway import DEFAULT_INTEGRATION_TIMEOUT_S, DEFAULT_WARM_UP_PATH, Gateway, GatewaySettings
from gateway_emulator.lambda_runtime import (
    DEFAULT_CONCURRENCY,
    FunctionPool,
    PoolSettings,
    RuntimeSettings,
    find_rie_binary,
    kill_all_groups,
)
from gateway_emulator.ports import PortUnavailableError, bind_server_socket
from gateway_emulator.template import AppConfig, TemplateError, load_app
from gateway_emulator.throttling import ThrottleLimits

log = logging.getLogger("gateway_emulator")


def _pairs(values: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: {what} must look like NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gateway_emulator",
        description="Docker-free local API Gateway (REST) + Lambda emulator for a SAM template.",
    )
    p.add_argument("--template", "-t", type=Path, default=Path("template.yaml"), help="SAM template")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", "-p", type=int, default=3000)
    p.add_argument("--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE", help="template parameters")
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help=f"execution environments per function (default: ReservedConcurrentExecutions, else {DEFAULT_CONCURRENCY})",
    )
    p.add_argument(
        "--warm-pool",
        type=int,
        default=0,
        help="environments started and initialised (warm-up invocation) at start-up per function, kept when idle",
    )
    p.add_argument(
        "--warm-up-path",
        default=DEFAULT_WARM_UP_PATH,
        help="GET route whose event initialises warm-pool environments (default %(default)s; falls back to the "
        "function's first GET route without parameters); 'none' starts them uninitialised",
    )
    p.add_argument("--idle-timeout", type=float, default=600.0, help="seconds before an idle env is reaped")
    p.add_argument("--no-throttling", action="store_true", help="disable all throttling (capacity tests)")
    p.add_argument("--throttle-rate", type=float, default=None, help="override the stage rate limit")
    p.add_argument("--throttle-burst", type=int, default=None, help="override the stage burst limit")
    p.add_argument(
        "--integration-timeout",
        type=float,
        default=DEFAULT_INTEGRATION_TIMEOUT_S,
        help="API Gateway integration timeout in seconds (AWS default 29)",
    )
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="accepted API key value (repeatable); one is generated when a key is needed and none given",
    )
    p.add_argument("--python", default=sys.executable, help="interpreter that runs awslambdaric")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE", help="extra function variables")
    p.add_argument(
        "--watch",
        action="store_true",
        help="serve edits without a restart: new execution environments start from changed function code, "
        "layers or template (polled twice a second); `make serve` turns it on",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def make_gateway(args: argparse.Namespace, app: AppConfig, parameters: dict[str, str]) -> Gateway:
    rie = find_rie_binary()
    runtime = RuntimeSettings(
        python=args.python, region=args.region, host="127.0.0.1", extra_env=_pairs(args.env, "--env")
    )
    pool_settings = PoolSettings(
        concurrency=args.concurrency, warm_pool=args.warm_pool, idle_timeout_s=args.idle_timeout
    )
    pools = {lid: FunctionPool(fn, runtime, pool_settings, rie) for lid, fn in app.functions.items()}
    override = None
    if args.throttle_rate is not None or args.throttle_burst is not None:
        base = next((a.default_throttle for a in app.apis if a.default_throttle), None)
        override = ThrottleLimits(
            rate=args.throttle_rate if args.throttle_rate is not None else (base.rate if base else 10000.0),
            burst=args.throttle_burst if args.throttle_burst is not None else (base.burst if base else 5000),
        )
    keys = list(args.api_key)
    needs_key = any(r.api_key_required for a in app.apis for r in a.routes)
    unvalued = any(v is None for a in app.apis for v in a.api_keys.values())
    if needs_key and unvalued and not keys:
        keys.append("local-" + secrets.token_hex(10))
    settings = GatewaySettings(
        throttling=not args.no_throttling,
        throttle_override=override,
        integration_timeout_s=args.integration_timeout,
        api_keys=tuple(keys),
        warm_up_path=None if args.warm_up_path.lower() == "none" else args.warm_up_path,
        watch=args.watch,
        parameters=parameters,
    )
    return Gateway(app, pools, settings)


def describe(gateway: Gateway, args: argparse.Namespace) -> None:
    base = f"http://{args.host}:{args.port}"
    for api in gateway.app.apis:
        thr = "off" if args.no_throttling else (gateway.settings.throttle_override or api.default_throttle)
        log.info("API %s, stage %s, default method throttling: %s", api.logical_id, api.stage, thr)
        for route in api.routes:
            key = " (API key required)" if route.api_key_required else ""
            log.info("  %-6s %s%s -> %s%s", route.method, base, route.resource, route.function_id, key)
        for (res, meth), lim in api.method_throttles.items():
            log.info("  throttle %s %s: rate %s, burst %s", meth, res, lim.rate, lim.burst)
        for plan in api.usage_plans:
            log.info(
                "  usage plan %s: throttle %s, quota %s/%s",
                plan.logical_id,
                plan.throttle,
                plan.quota_limit,
                plan.quota_period,
            )
    for lid, pool in gateway.pools.items():
        fn = pool.fn
        log.info(
            "function %s: %s, %s, timeout %ss, %s MB, concurrency %d, layers %s",
            lid,
            fn.handler,
            fn.code_dir,
            fn.timeout_s,
            fn.memory_mb,
            pool.limit,
            [str(layer.source_dir) for layer in fn.layers],
        )
    if gateway.api_key_values:
        log.info("accepted API keys (header x-api-key): %s", ", ".join(gateway.api_key_values))


def _serving_message(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"serving on http://{shown}:{port} (Ctrl-C to stop)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle chatter
    # Bound (not yet listening) before anything starts: a busy port is one line at once, not a
    # traceback after the warm pool started. uvicorn listens on it once the pool is ready.
    try:
        listen_socket = bind_server_socket(args.host, args.port, "--port {port} (make serve SERVE_PORT={port})")
    except PortUnavailableError as exc:
        log.error("%s", exc)
        return 2
    parameters = _pairs(args.parameter_overrides, "--parameter-overrides")
    try:
        app = load_app(args.template, parameters)
    except TemplateError as exc:
        log.error("%s", exc)
        listen_socket.close()
        return 2
    try:
        gateway = make_gateway(args, app, parameters)
    except RuntimeError as exc:
        log.error("%s", exc)
        listen_socket.close()
        return 2
    describe(gateway, args)
    atexit.register(kill_all_groups)

    import uvicorn

    config = uvicorn.Config(
        gateway,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        server_header=False,  # API Gateway sends no Server header
        lifespan="on",
        timeout_graceful_shutdown=3,
    )

    class _Server(uvicorn.Server):
        # uvicorn announces its address only for sockets it bound itself: say where it listens.
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                log.info("%s", _serving_message(args.host, listen_socket.getsockname()[1]))

    server = _Server(config)
    try:
        # Server.run() picks uvicorn's loop ("auto": uvloop when installed, as locked): with plain
        # asyncio.run the selector loop's Python-level socket writes were ~45 % of the gateway's
        # samples in a py-spy profile under load.
        server.run(sockets=[listen_socket])
    except KeyboardInterrupt:
        pass
    finally:
        kill_all_groups()
        listen_socket.close()
    return 0 if server.started else 1
