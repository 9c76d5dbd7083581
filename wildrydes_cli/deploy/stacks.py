"""The CloudFormation templates wildrydes drives, and the parameters it gives them.

Templates ship inside the CLI as ``wildrydes_cli.templates`` (the
cloudformation/ folder), so an installed wildrydes deploys exactly the files
cfn-lint checked in the tests.
"""
from __future__ import annotations

from importlib import resources

PREREQUISITES = "prerequisites.yml"   # stack wildrydes-ml-mod1-3
FUNCTION = "function.yml"             # stack wildrydes-ml-mod3-4, and wildrydes-ml-mod0-4 (--complete)


def template_body(name: str) -> str:
    return resources.files("wildrydes_cli.templates").joinpath(name).read_text(encoding="utf-8")


def function_parameters(bucket: str, code_key: str, model_path: str, engine: str, runtime: str,
                        memory_mb: int, role: str | None, execute_api_endpoint: str = "") -> dict[str, str]:
    """Every parameter, every time: the emulator mishandles UsePreviousValue.

    ``execute_api_endpoint``: the local target's endpoint, so the stack's InvokeUrl and CurlCommand
    outputs point there ("" on AWS).
    """
    return {
        "DataBucket": bucket,
        "DataProcessingExecutionRoleName": role or "",
        "CodeKey": code_key,
        "ModelPath": model_path,
        "Engine": engine,
        "MemorySize": str(memory_mb),
        "Runtime": runtime,
        "ExecuteApiEndpoint": execute_api_endpoint,
    }
