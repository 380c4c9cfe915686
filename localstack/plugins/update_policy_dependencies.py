"""Make LocalStack's legacy CloudFormation engine order a resource after what its UpdatePolicy names.

The engine derives the creation order from the references in a resource's ``Properties`` and its
``DependsOn`` only. SAM's ``AutoPublishAlias`` + ``DeploymentPreference`` produce an alias whose
``UpdatePolicy.CodeDeployLambdaAliasUpdate`` refers to the CodeDeploy application and deployment
group; CloudFormation on AWS creates those first. LocalStack breaks the tie in Python set order
(which changes with the logical ids and the hash seed), and when the alias comes first the stack
fails with 'Unable to resolve Ref for resource "...DeploymentGroup" (yet)'. This hook adds the
UpdatePolicy references to the dependencies, which is what AWS does.
"""

from __future__ import annotations

from typing import Any

from localstack.runtime import hooks


@hooks.on_infra_start()
def add_update_policy_dependencies() -> None:
    from localstack.services.cloudformation.engine import (
        resource_ordering,
        template_deployer,
        template_utils,
    )

    original = template_utils.get_deps_for_resource
    if getattr(original, "includes_update_policy", False):
        return

    def get_deps_for_resource(resource: dict[str, Any], evaluated_conditions: dict[str, bool]) -> set[str]:
        deps: set[str] = original(resource, evaluated_conditions)
        update_policy = resource.get("UpdatePolicy")
        if update_policy:
            deps |= template_utils.resolve_dependencies(update_policy, evaluated_conditions)
        return deps

    get_deps_for_resource.includes_update_policy = True  # type: ignore[attr-defined]
    # the engine modules imported the function by name
    for module in (template_utils, resource_ordering, template_deployer):
        module.get_deps_for_resource = get_deps_for_resource  # type: ignore[attr-defined]
