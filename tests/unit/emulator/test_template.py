"""Reading SAM templates through samtranslator: the fixture template and the project's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_emulator.lambda_runtime import RuntimeSettings, build_environment, map_opt_path
from gateway_emulator.template import TemplateError, load_app
from gateway_emulator.throttling import ThrottleLimits

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "emulator" / "template.yaml"


def test_fixture_template_routes_throttles_and_usage_plan() -> None:
    app = load_app(FIXTURE)
    (api,) = app.apis
    routes = {(r.method, r.resource): r for r in api.routes}
    assert ("ANY", "/echo") in routes
    assert ("GET", "/items/{id}") in routes
    assert ("ANY", "/files/{proxy+}") in routes
    assert routes[("GET", "/keyed")].api_key_required
    assert not routes[("POST", "/sleep")].api_key_required
    assert api.stage == "test"
    assert api.default_throttle == ThrottleLimits(rate=1000, burst=500)
    assert api.method_throttles[("/throttled", "GET")] == ThrottleLimits(rate=20, burst=5)
    (plan,) = api.usage_plans
    assert plan.throttle == ThrottleLimits(rate=50, burst=10)
    assert plan.key_ids == tuple(api.api_keys)
    assert api.binary_media_types == ("application/octet-stream",)


def test_fixture_function_settings() -> None:
    fn = load_app(FIXTURE).functions["FixtureFunction"]
    assert fn.handler == "fixture_handlers.handler"
    assert fn.timeout_s == 2
    assert fn.memory_mb == 256
    assert fn.reserved_concurrency == 2
    assert fn.environment["GREETING"] == "hello"
    assert [layer.source_dir.name for layer in fn.layers] == ["layer", "model"]
    assert fn.code_dir == FIXTURE.parent / "app"


def test_parameter_overrides_reach_the_stage_name() -> None:
    (api,) = load_app(FIXTURE, {"StageName": "local"}).apis
    assert api.stage == "local"


def test_environment_maps_opt_to_layer_folders() -> None:
    fn = load_app(FIXTURE).functions["FixtureFunction"]
    env = build_environment(fn, RuntimeSettings())
    assert env["MODEL_DIR"] == str(FIXTURE.parent / "model")
    assert str(FIXTURE.parent / "layer" / "python") in env["PYTHONPATH"].split(":")
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "2"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["LAMBDA_TASK_ROOT"] == str(fn.code_dir)


def test_map_opt_path_understands_the_sam_build_layout(tmp_path: Path) -> None:
    built = tmp_path / "ModelLayer"
    (built / "model").mkdir(parents=True)
    assert map_opt_path("/opt/model", {"ModelLayer": built}) == str(built / "model")


def test_map_opt_path_leaves_unknown_paths_alone() -> None:
    dirs = {"model": Path("/x/layers/model")}
    assert map_opt_path("/opt/model", dirs) == "/x/layers/model"
    assert map_opt_path("/opt/model/model.onnx", dirs) == "/x/layers/model/model.onnx"
    assert map_opt_path("/opt/other", dirs) == "/opt/other"
    assert map_opt_path("relative", dirs) == "relative"


@pytest.mark.skipif(not (ROOT / "template.yaml").exists(), reason="the project template is not merged yet")
def test_project_template_with_defaults_and_with_api_keys() -> None:
    app = load_app(ROOT / "template.yaml")
    (api,) = app.apis
    assert any(r.resource == "/predict" and r.method == "POST" for r in api.routes)
    assert api.default_throttle is not None
    assert not api.usage_plans  # the usage plan exists only when ApiKeyRequired=true
    fn = next(iter(app.functions.values()))
    assert fn.handler == "fraud_api.lambda_handler.handler"
    assert any(layer.source_dir.name == "model" for layer in fn.layers)

    keyed = load_app(ROOT / "template.yaml", {"ApiKeyRequired": "true", "ReservedConcurrency": "3"})
    (kapi,) = keyed.apis
    assert all(r.api_key_required for r in kapi.routes)
    assert len(kapi.usage_plans) == 1
    assert next(iter(keyed.functions.values())).reserved_concurrency == 3


def test_a_template_without_rest_api_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: app/, Handler: a.b, Runtime: python3.11}\n"
    )
    with pytest.raises(TemplateError, match="no REST API"):
        load_app(path)


def test_an_invalid_sam_template_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: 3}\n"
    )
    with pytest.raises(TemplateError, match="samtranslator rejected"):
        load_app(path)


def test_a_yaml_syntax_error_gives_a_clear_error(tmp_path: Path) -> None:
    """A template saved half-edited (watch mode reads it again) is a TemplateError, not a traceback."""
    path = tmp_path / "template.yaml"
    path.write_text("Resources: [not, a, template\n")
    with pytest.raises(TemplateError, match=r"template\.yaml is not valid YAML: .*expected ',' or '\]'"):
        load_app(path)
