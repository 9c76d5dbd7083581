"""What a stack's API serves on real API Gateway, which moto lacks, for ``AwsBehaviour`` (mixed into it).

moto's API Gateway serves every method as it is now, and its CloudFormation
skips a template's API keys and usage plans. API Gateway and CloudFormation do
this instead, and so does this layer (the numbers are those of awsbehaviour.py's
index):

6. API Gateway stage snapshots (API Gateway Developer Guide, "Deploying a
   REST API"; AWS::ApiGateway::Deployment is immutable): a stage serves the
   API as of its last CreateDeployment; a stack update that changes methods
   or resources leaves it stale (``stale_stages``).
19. API keys and usage plans (API Gateway Developer Guide, "Usage plans and API keys";
   AWS::ApiGateway::ApiKey, UsagePlan, UsagePlanKey): CloudFormation creates the template's
   key (enabled), plan and association, replaces a key whose ``Name`` changed ("If you must
   replace the resource, specify a new name") and deletes them with the stack; moto's
   CloudFormation skips them, so they are made here with API Gateway calls
   (``stack_keys.wanted`` reads the template). A method's ``ApiKeyRequired`` is part of what a
   stage snapshots (behaviour 6): a parameter that flips it (``Auth``) leaves stage prod
   serving the old requirement until the next CreateDeployment ("a key takes effect only
   after the stage is deployed"). Throttling and quotas are applied "on a best-effort basis"
   (same guide, "Usage plans and API keys": not hard limits), which no call to moto can show:
   ``USAGE_PLANS_BEST_EFFORT`` records it for the tests of what the CLI says on this target.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

USAGE_PLANS_BEST_EFFORT = True   # behaviour 19: API Gateway's throttling and quotas are not hard limits


class ApiStageBehaviour:
    """Mixed into ``AwsBehaviour``: ``region`` and ``raw`` come from there; ``StackBehaviour`` calls
    ``_snapshot_api`` and ``_keys_and_plans`` when a stack is made, changed or deleted."""

    region: str
    raw: Callable[[str], Any]

    def _api_stages_init(self) -> None:
        self.api_current: dict[str, str] = {}                 # api id -> fingerprint of its methods
        self.stage_served: dict[tuple[str, str], str] = {}    # (api id, stage) -> fingerprint deployed
        self.deployment_ids: dict[str, list[str]] = {}        # api id -> the template's Deployment ids

    def stale_stages(self) -> set[tuple[str, str]]:
        """Stages whose snapshot differs from their API's current methods and resources."""
        return {key for key, served in self.stage_served.items() if self.api_current.get(key[0]) != served}

    def _keys_and_plans(self, name: str, deleted: bool = False) -> None:
        """What CloudFormation makes of the template's ApiKey, UsagePlan and UsagePlanKey (behaviour 19)."""
        from wildrydes_cli.local.awsapi import moto_backends, stack_keys, stack_rules
        gw = self.raw("apigateway")
        mine = [k for k in gw.get_api_keys(includeValues=True)["items"]
                if (k.get("tags") or {}).get(stack_keys.STACK_TAG) == name]
        plans = [p for p in gw.get_usage_plans()["items"] if (p.get("tags") or {}).get(stack_keys.STACK_TAG) == name]
        want = stack_keys.Wanted()
        if not deleted:
            stack = self.raw("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
            values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
            values.update(stack_rules.pseudo_parameters(stack["StackId"].split(":")[4], self.region, name))
            values.update({r["LogicalResourceId"]: r.get("PhysicalResourceId") or "" for r in
                           self.raw("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
                           if r.get("LogicalResourceId")})
            body = self.raw("cloudformation").get_template(StackName=name)["TemplateBody"]
            want = stack_keys.wanted(moto_backends.parse_template(body) if isinstance(body, str) else body, values)
        tags = {stack_keys.STACK_TAG: name}
        key_ids = {}
        for spec in want.keys:
            found = next((k for k in mine if k["name"] == spec.name), None)
            key_ids[spec.logical] = found["id"] if found else gw.create_api_key(
                name=spec.name, enabled=spec.enabled, tags=tags)["id"]
        for plan in plans:   # plans are made again with the template's limits (AWS updates them in place)
            for key in gw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]:
                gw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
            gw.delete_usage_plan(usagePlanId=plan["id"])
        for spec in want.plans:
            plan_id = gw.create_usage_plan(
                name=spec.name, apiStages=[{"apiId": a, "stage": st} for a, st in spec.stages], tags=tags,
                throttle={"rateLimit": spec.rate or 0.0, "burstLimit": spec.burst or 0},
                **({"quota": {"limit": spec.quota_limit, "period": spec.quota_period or "DAY"}}
                   if spec.quota_limit is not None else {}))["id"]
            for plan_logical, key_logical in want.links:
                if plan_logical == spec.logical and key_logical in key_ids:
                    gw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_ids[key_logical], keyType="API_KEY")
        for key in mine:
            if key["id"] not in key_ids.values():
                gw.delete_api_key(apiKey=key["id"])

    def _snapshot_api(self, name: str, body: str, kind: str, params: dict | None = None) -> None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in
                   (self.raw("cloudformation").describe_stacks(StackName=name)["Stacks"][0].get("Outputs") or [])}
        api = outputs.get("ApiId")
        if not api or not body:
            return
        values = {p.get("ParameterKey"): p.get("ParameterValue") for p in (params or {}).get("Parameters", [])}
        fingerprint, deployment_ids = _api_fingerprint(body, values)
        renamed = deployment_ids != self.deployment_ids.get(api)   # a new Deployment deploys the stage
        self.api_current[api], self.deployment_ids[api] = fingerprint, deployment_ids
        if kind == "CREATE" or renamed:
            self.stage_served[(api, "prod")] = fingerprint

    def _after_api_gateway(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if operation == "CreateDeployment" and http.status_code < 300 and params.get("stageName"):
            api = params["restApiId"]
            if api in self.api_current:
                self.stage_served[(api, params["stageName"])] = self.api_current[api]


def _api_fingerprint(body: str, values: dict | None = None) -> tuple[str, list[str]]:
    """The template's API methods and resources (what a stage snapshots) with the parameters they
    depend on (``Auth`` flips ApiKeyRequired), and whether the Deployment resource is new (a new
    logical id makes CloudFormation deploy the stage)."""
    from cfnlint.decode import decode_str
    template, _ = decode_str(body)
    resources = (template or {}).get("Resources", {})
    api = {k: v for k, v in resources.items()
           if str(v.get("Type", "")).startswith("AWS::ApiGateway::")
           and v.get("Type") not in ("AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage")}
    deployments = sorted(k for k, v in resources.items() if v.get("Type") == "AWS::ApiGateway::Deployment")
    methods = {k: v for k, v in api.items() if v.get("Type") == "AWS::ApiGateway::Method"}
    conditions = (template or {}).get("Conditions", {})
    used = [c for c in conditions if f'"{c}"' in json.dumps(methods, default=str)]
    depends = {p: v for p, v in sorted((values or {}).items())
               if any(f'"{p}"' in json.dumps(conditions[c], default=str) for c in used)}
    return json.dumps([api, depends], sort_keys=True, default=str), deployments

