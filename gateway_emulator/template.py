"""Read a SAM template the way AWS does: samtranslator turns it into CloudFormation, then the
emulator takes routes, stage/method throttling, usage plans, API keys and function settings from
the resulting ``AWS::ApiGateway::*`` and ``AWS::Lambda::*`` resources."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_emulator.throttling import ThrottleLimits

# Local CodeUri/ContentUri values are carried through the transform as fake S3 locations
# (samtranslator only accepts S3 URIs); the key is the URL-quoted local path.
_LOCAL_BUCKET = "gateway-emulator"
_REGION = "us-east-1"
_ACCOUNT_ID = "123456789012"
# Lambda's default timeout and memory when the template sets none (Lambda developer guide).
_DEFAULT_TIMEOUT_S = 3.0
_DEFAULT_MEMORY_MB = 128
_INTEGRATION_SUB = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")


class TemplateError(ValueError):
    """The template cannot be emulated (invalid SAM, or a feature the emulator does not know)."""


@dataclass(frozen=True)
class LayerConfig:
    logical_id: str
    name: str
    source_dir: Path


@dataclass(frozen=True)
class FunctionConfig:
    logical_id: str
    handler: str
    runtime: str
    code_dir: Path
    timeout_s: float
    memory_mb: int
    reserved_concurrency: int | None
    environment: dict[str, str]
    layers: tuple[LayerConfig, ...]
    architecture: str


@dataclass(frozen=True)
class Route:
    """One REST API method: ``resource`` is the API Gateway resource path, e.g. ``/items/{id}``."""

    resource: str
    method: str  # upper case, or "ANY"
    function_id: str
    api_key_required: bool


@dataclass(frozen=True)
class UsagePlan:
    logical_id: str
    throttle: ThrottleLimits | None
    quota_limit: int | None
    quota_period: str | None  # DAY | WEEK | MONTH
    key_ids: tuple[str, ...]


@dataclass(frozen=True)
class ApiConfig:
    logical_id: str
    stage: str
    routes: tuple[Route, ...]
    binary_media_types: tuple[str, ...]
    default_throttle: ThrottleLimits | None
    method_throttles: dict[tuple[str, str], ThrottleLimits]  # (resource, METHOD) -> limits
    usage_plans: tuple[UsagePlan, ...]
    api_keys: dict[str, str | None] = field(default_factory=dict)  # key logical id -> Value


@dataclass(frozen=True)
class AppConfig:
    template_path: Path
    apis: tuple[ApiConfig, ...]
    functions: dict[str, FunctionConfig]


def _localize_uris(template: dict[str, Any]) -> None:
    for resource in (template.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = f"s3://{_LOCAL_BUCKET}/{urllib.parse.quote(value, safe='')}"
    # Globals may carry a CodeUri too.
    glob = (template.get("Globals") or {}).get("Function") or {}
    if isinstance(glob.get("CodeUri"), str) and not glob["CodeUri"].startswith("s3://"):
        glob["CodeUri"] = f"s3://{_LOCAL_BUCKET}/{urllib.parse.quote(glob['CodeUri'], safe='')}"


def _local_path(location: Any, base: Path, what: str) -> Path:
    if isinstance(location, dict) and location.get("S3Bucket") == _LOCAL_BUCKET:
        return (base / urllib.parse.unquote(str(location["S3Key"]))).resolve()
    raise TemplateError(f"{what}: only local code/content folders can be emulated, got {location!r}")


def transform_template(path: Path, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """samtranslator's CloudFormation output for the SAM template at ``path``."""
    import boto3
    import yaml
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    try:
        sam = yaml_parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(sam, dict) or "Resources" not in sam:
        raise TemplateError(f"{path} is not a SAM/CloudFormation template (no Resources)")
    _localize_uris(sam)
    # A fixed region keeps the transform offline (no boto3 region lookup).
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=_REGION))
    try:
        result: dict[str, Any] = translator.translate(sam, dict(parameters or {}), get_managed_policy_map=lambda: {})
    except InvalidDocumentException as exc:
        causes = "; ".join(str(c) for c in exc.causes)
        raise TemplateError(f"samtranslator rejected {path}: {causes}") from exc
    return result


_NO_VALUE = object()


def _apply_conditions(cfn: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate Conditions (CloudFormation compares parameter values as strings), pick Fn::If
    branches, drop AWS::NoValue and the resources whose Condition is false."""
    definitions: dict[str, Any] = cfn.get("Conditions") or {}
    cache: dict[str, bool] = {}

    def value(x: Any) -> str:
        if isinstance(x, dict) and "Ref" in x:
            return str(parameters.get(x["Ref"], x["Ref"]))
        return str(x)

    def truth(expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            ((op, arg),) = expr.items()
            if op == "Fn::Equals":
                return value(arg[0]) == value(arg[1])
            if op == "Fn::Not":
                return not truth(arg[0])
            if op == "Fn::And":
                return all(truth(a) for a in arg)
            if op == "Fn::Or":
                return any(truth(a) for a in arg)
            if op == "Condition":
                return named(arg)
        raise TemplateError(f"unsupported condition expression {expr!r}")

    def named(name: str) -> bool:
        if name not in cache:
            if name not in definitions:
                raise TemplateError(f"unknown condition {name!r}")
            cache[name] = truth(definitions[name])
        return cache[name]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::If" in node:
                cond, yes, no = node["Fn::If"]
                return walk(yes if named(cond) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            out = {}
            for k, v in node.items():
                w = walk(v)
                if w is not _NO_VALUE:
                    out[k] = w
            return out
        if isinstance(node, list):
            return [w for w in (walk(v) for v in node) if w is not _NO_VALUE]
        return node

    result = dict(cfn)
    result["Resources"] = {
        lid: walk(res)
        for lid, res in (cfn.get("Resources") or {}).items()
        if not isinstance(res, dict) or "Condition" not in res or named(res["Condition"])
    }
    return result


def _resolve(cfn: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """Resolve Ref/Fn::Sub/... with SAM CLI's own intrinsic resolver (what sam local uses), after
    the conditions are applied."""
    cfn = _apply_conditions(cfn, parameters)
    from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
    from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable

    symbols: dict[str, Any] = {"AWS::Region": _REGION, "AWS::AccountId": _ACCOUNT_ID}
    symbols.update(parameters)
    table = IntrinsicsSymbolTable(template=cfn, logical_id_translator=symbols)
    resolved: dict[str, Any] = IntrinsicResolver(template=cfn, symbol_resolver=table).resolve_template(
        ignore_errors=True
    )
    return resolved


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    return value if isinstance(value, str) else None


def _limits(rate: Any, burst: Any) -> ThrottleLimits | None:
    if rate is None and burst is None:
        return None
    try:
        # API Gateway treats a missing half as unlimited; the account limits (10,000 rps, burst
        # 5,000) then apply (API Gateway quotas page).
        return ThrottleLimits(
            rate=float(rate) if rate is not None else 10000.0,
            burst=int(burst) if burst is not None else 5000,
        )
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"bad throttling values rate={rate!r} burst={burst!r}: {exc}") from exc


def _decode_resource_path(raw: str) -> str:
    # Stage MethodSettings encode "/" inside a path as "~1" (AWS::ApiGateway::Stage MethodSetting).
    if raw in ("/*", "*"):
        return "/*"
    if raw.startswith("/~1"):
        return raw[1:].replace("~1", "/")
    return raw


def _integration_function(uri: Any, resources: Mapping[str, Any]) -> str | None:
    """The Lambda function logical id behind an aws_proxy integration URI (unresolved Fn::Sub)."""
    text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
    if isinstance(text, list):
        text = text[0]
    if not isinstance(text, str):
        return None
    for name in _INTEGRATION_SUB.findall(text):
        res = resources.get(name) or {}
        kind = res.get("Type")
        if kind == "AWS::Lambda::Function":
            return str(name)
        if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            target = _ref((res.get("Properties") or {}).get("FunctionName"))
            if target and target in resources:
                return target
    return None


def load_app(path: Path, parameters: Mapping[str, str] | None = None) -> AppConfig:
    """Read ``path`` (a SAM template) into the emulator's configuration."""
    path = path.resolve()
    params = dict(parameters or {})
    cfn = transform_template(path, params)
    all_params = {**_parameter_defaults(cfn), **params}
    raw_resources: dict[str, Any] = _apply_conditions(cfn, all_params).get("Resources") or {}
    resolved = _resolve(cfn, all_params)
    resources: dict[str, Any] = resolved.get("Resources") or {}
    base = path.parent

    layers: dict[str, LayerConfig] = {}
    for lid, res in resources.items():
        if res.get("Type") == "AWS::Lambda::LayerVersion":
            props = res.get("Properties") or {}
            layers[lid] = LayerConfig(
                logical_id=lid,
                name=str(props.get("LayerName") or lid),
                source_dir=_local_path(props.get("Content"), base, f"layer {lid}"),
            )

    functions: dict[str, FunctionConfig] = {}
    for lid, res in resources.items():
        if res.get("Type") != "AWS::Lambda::Function":
            continue
        props = res.get("Properties") or {}
        raw_props = (raw_resources.get(lid) or {}).get("Properties") or {}
        if props.get("PackageType") == "Image":
            continue  # image functions are out of the emulator's scope (docs/emulator.md)
        fn_layers = []
        for ref in raw_props.get("Layers") or []:
            name = _ref(ref)
            if name in layers:
                fn_layers.append(layers[name])
            else:
                raise TemplateError(f"function {lid}: layer {ref!r} is not a local layer of this template")
        env = ((props.get("Environment") or {}).get("Variables")) or {}
        reserved = props.get("ReservedConcurrentExecutions")
        functions[lid] = FunctionConfig(
            logical_id=lid,
            handler=str(props.get("Handler") or ""),
            runtime=str(props.get("Runtime") or "python3.11"),
            code_dir=_local_path(props.get("Code"), base, f"function {lid}"),
            timeout_s=float(props.get("Timeout") or _DEFAULT_TIMEOUT_S),
            memory_mb=int(props.get("MemorySize") or _DEFAULT_MEMORY_MB),
            reserved_concurrency=int(reserved) if reserved is not None else None,
            environment={str(k): str(v) for k, v in env.items()},
            layers=tuple(fn_layers),
            architecture=str((props.get("Architectures") or ["x86_64"])[0]),
        )

    apis = tuple(
        _load_api(lid, resources, raw_resources)
        for lid, res in resources.items()
        if res.get("Type") == "AWS::ApiGateway::RestApi"
    )
    if not apis:
        raise TemplateError(f"{path} defines no REST API (AWS::Serverless::Api or Api events)")
    for api in apis:
        for route in api.routes:
            if route.function_id not in functions:
                raise TemplateError(f"route {route.method} {route.resource} targets unknown {route.function_id}")
    return AppConfig(template_path=path, apis=apis, functions=functions)


def _parameter_defaults(cfn: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in (cfn.get("Parameters") or {}).items():
        if isinstance(spec, dict) and "Default" in spec:
            out[name] = spec["Default"]
    return out


def _load_api(lid: str, resources: Mapping[str, Any], raw_resources: Mapping[str, Any]) -> ApiConfig:
    body = ((resources[lid].get("Properties") or {}).get("Body")) or {}
    raw_body = ((raw_resources[lid].get("Properties") or {}).get("Body")) or {}
    if not body:
        raise TemplateError(f"REST API {lid} has no inline definition (DefinitionUri is not supported)")
    routes: list[Route] = []
    for resource_path, methods in (raw_body.get("paths") or {}).items():
        for method, spec in (methods or {}).items():
            integration = (spec or {}).get("x-amazon-apigateway-integration") or {}
            if integration.get("type") != "aws_proxy":
                continue  # only Lambda proxy integrations are emulated
            fn = _integration_function(integration.get("uri"), raw_resources)
            if fn is None:
                raise TemplateError(f"{lid} {method.upper()} {resource_path}: cannot find its Lambda function")
            http_method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            needs_key = any("api_key" in (sec or {}) for sec in (spec.get("security") or []))
            routes.append(Route(resource_path, http_method, fn, needs_key))

    stage_name, default_throttle = "Prod", None
    method_throttles: dict[tuple[str, str], ThrottleLimits] = {}
    stage_ids: set[str] = set()
    for sid, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") != "AWS::ApiGateway::Stage" or props.get("RestApiId") != lid:
            continue
        stage_ids.add(sid)
        stage_name = str(props.get("StageName") or stage_name)
        for setting in props.get("MethodSettings") or []:
            limits = _limits(setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit"))
            if limits is None:
                continue
            rp = _decode_resource_path(str(setting.get("ResourcePath", "/*")))
            hm = str(setting.get("HttpMethod", "*")).upper()
            if rp == "/*" and hm == "*":
                default_throttle = limits
            else:
                method_throttles[(rp, hm)] = limits

    plans: list[UsagePlan] = []
    for pid, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") != "AWS::ApiGateway::UsagePlan":
            continue
        if not any(s.get("ApiId") == lid for s in props.get("ApiStages") or []):
            continue
        throttle = props.get("Throttle") or {}
        quota = props.get("Quota") or {}
        key_ids = tuple(
            str((r.get("Properties") or {}).get("KeyId"))
            for r in resources.values()
            if r.get("Type") == "AWS::ApiGateway::UsagePlanKey"
            and (r.get("Properties") or {}).get("UsagePlanId") == pid
        )
        plans.append(
            UsagePlan(
                logical_id=pid,
                throttle=_limits(throttle.get("RateLimit"), throttle.get("BurstLimit")),
                quota_limit=int(quota["Limit"]) if "Limit" in quota else None,
                quota_period=str(quota.get("Period", "DAY")) if "Limit" in quota else None,
                key_ids=key_ids,
            )
        )
    keys = {
        kid: (str(r["Properties"]["Value"]) if (r.get("Properties") or {}).get("Value") else None)
        for kid, r in resources.items()
        if r.get("Type") == "AWS::ApiGateway::ApiKey" and (r.get("Properties") or {}).get("Enabled", True)
    }
    binary = tuple(str(t).replace("~1", "/") for t in body.get("x-amazon-apigateway-binary-media-types") or [])
    return ApiConfig(
        logical_id=lid,
        stage=stage_name,
        routes=tuple(routes),
        binary_media_types=binary,
        default_throttle=default_throttle,
        method_throttles=method_throttles,
        usage_plans=tuple(plans),
        api_keys=keys,
    )
