"""The template as AWS will see it: transformed by samtranslator, then parameters and conditions applied.

samtranslator is the library behind the ``AWS::Serverless`` transform, so the tests check what
CloudFormation would receive, not our reading of the SAM shorthand. Local ``CodeUri`` /
``ContentUri`` paths are replaced by S3 URIs first, as ``sam validate`` and ``sam deploy`` do.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
REGION = "us-east-1"

NO_VALUE = object()


def sam_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return data


def parameter_defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}


@functools.cache
def _transformed(params_json: str) -> str:
    template = sam_template()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://bucket/{props[key].strip('/')}.zip"
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=REGION))
    output = translator.translate(template, json.loads(params_json), get_managed_policy_map=lambda: {})
    return json.dumps(output)


def transformed(overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template samtranslator produces for these parameter values."""
    params = {**parameter_defaults(sam_template()), **(overrides or {})}
    result: dict[str, Any] = json.loads(_transformed(json.dumps(params, sort_keys=True)))
    return result


class Resolver:
    """Applies parameter values and conditions: Ref (parameters), Fn::If, Fn::Equals/Not/And/Or."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        self.template = template
        self.params: dict[str, Any] = {**parameter_defaults(template), **(overrides or {})}
        self.params.update({"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::StackName": "fraud-scoring"})
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return self.params.get(arg, node)  # resources stay {"Ref": id}
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.value(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.value(side) for side in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(item) for item in arg)
            if key == "Fn::Or":
                return any(self.value(item) for item in arg)
        out = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in out.items() if item is not NO_VALUE}

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources that exist for these parameters, with their properties resolved."""
        kept = {}
        for logical_id, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            kept[logical_id] = self.value(copy.deepcopy(resource))
        return kept


def deployed(overrides: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create for these parameter values."""
    return Resolver(transformed(overrides), overrides).resources()


def of_type(resources: dict[str, dict[str, Any]], type_name: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in resources.items() if value["Type"] == type_name}


def only(resources: dict[str, dict[str, Any]], type_name: str) -> tuple[str, dict[str, Any]]:
    matches = of_type(resources, type_name)
    assert len(matches) == 1, f"expected one {type_name}, found {sorted(matches)}"
    return next(iter(matches.items()))
