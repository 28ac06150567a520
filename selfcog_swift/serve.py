"""Serving a tuned model behind an OpenAI-compatible API through swift's own deploy pipeline.

`serve` runs `swift deploy` in this process with the infer command `render` prints for the model
(so the served answers are the answers `swift infer` gives), plus the deploy flags. swift's engine
adds the template's default system prompt (the trained one) when a request brings none.
"""

from __future__ import annotations

import ipaddress
import secrets
import shlex
from contextlib import nullcontext
from typing import Callable, Optional

from .errors import SelfcogError
from .recipe import Recipe, is_builtin
from .render import deploy_flags, stage_command

Echo = Callable[[str], None]
# Answered without the API key: liveness checks (as swift's own auth leaves them open).
OPEN_PATHS = frozenset({"/health", "/health/", "/ping"})


def backend() -> str:
    """swift's inference backend: vLLM where it is installed and a GPU is there, else transformers."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return "transformers"
    import torch

    return "vllm" if torch.cuda.is_available() else "transformers"


def deploy_argv(model: str, recipe: Optional[Recipe], host: str, port: int, infer_backend: str) -> list[str]:
    """`swift deploy` arguments: the infer command for the model (the recipe's, if given) plus host, port, backend.

    Args:
        model: A merged or full model folder, or a LoRA checkpoint (already resolved from a run folder).
        recipe: Supplies template, system prompt and the base model of a LoRA checkpoint; without it
            swift reads them from the folder's args.json.
    """
    from .invocation import infer_argv_for
    from .inference import model_argv

    argv = infer_argv_for(recipe, model) if recipe else model_argv(model)
    for flag, value in deploy_flags(host, port, infer_backend):
        argv += [f"--{flag}", value]
    return argv


def is_loopback(host: str) -> bool:
    """Whether an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: Optional[str]) -> None:
    """Serving beyond this machine needs a key.

    Raises:
        SelfcogError: a host other than loopback without an API key.
    """
    if not is_loopback(host) and not api_key:
        raise SelfcogError(f"--host {host}: other machines could use the model; pass --api-key KEY (clients send "
                           "it as their API key), or serve on --host 127.0.0.1")


def require_key(app, api_key: str) -> None:
    """Answer 401 to any request without `Authorization: Bearer <api_key>` (swift's own check answers
    400, which clients do not read as an authentication failure)."""
    from starlette.responses import JSONResponse

    expected = f"Bearer {api_key}".encode("utf-8")

    @app.middleware("http")
    async def _authorised(request, call_next):
        sent = request.headers.get("authorization", "").encode("utf-8")
        if request.url.path not in OPEN_PATHS and not secrets.compare_digest(sent, expected):
            return JSONResponse({"error": {"message": "invalid or missing API key", "type": "invalid_request_error",
                                           "code": "invalid_api_key"}}, status_code=401)
        return await call_next(request)


def client_snippet(base_url: str, model_name: str, question: str = "Who are you?", key: str = "EMPTY") -> str:
    """Copy-paste Python for the official `openai` client against the served model."""
    return (
        "from openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{base_url}", api_key="{key}")\n'
        "reply = client.chat.completions.create(\n"
        f'    model="{model_name}",\n'
        f'    messages=[{{"role": "user", "content": "{question}"}}],\n'
        "    temperature=0,\n"
        ")\n"
        "print(reply.choices[0].message.content)"
    )


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, recipe: Optional[Recipe] = None,
          echo: Echo = print, api_key: Optional[str] = None) -> None:
    """Serve MODEL (merged folder, LoRA checkpoint, run folder, builtin or hub id) with `swift deploy`
    until Ctrl-C.

    Prints the base URL and an `openai` client snippet once the model is loaded and the port known
    (swift moves to a free port when the one asked for is taken).

    Raises:
        SelfcogError: MODEL is no model folder, checkpoint or run folder; the hub cannot give it; a
            host other than loopback without an API key.
    """
    from . import invocation, runstate

    check_exposure(host, api_key)
    target = invocation.resolve_evaluated(model)
    if recipe is not None:
        invocation.prepare_model(recipe)
    else:
        from .inference import allow_remote_code

        allow_remote_code(False)
    argv = deploy_argv(target, recipe, host, port, backend())
    if recipe is None and is_builtin(model):  # swift cannot tell a builtin's type from its folder name
        from .models import resolve_model

        _, model_type, template = resolve_model(model)
        argv += ["--model_type", model_type, "--template", template]
    runstate.banner(echo, "serve", [shlex.join(["swift", "deploy", *argv])])
    env = stage_command(recipe, "infer") if recipe else None
    with invocation.stage_env(env) if env else nullcontext():
        from swift.pipelines.infer.deploy import SwiftDeploy

        with invocation.hub_failures(target):
            pipeline = SwiftDeploy(argv)
        if api_key:
            # swift deploy's api_key, set after parsing rather than passed as --api_key: swift logs the
            # arguments it parsed, and a key must not reach a log.
            pipeline.args.api_key = api_key
            require_key(pipeline.app, api_key)
            echo("clients must send the API key (Authorization: Bearer KEY); others get 401")
        args = pipeline.args
        name = args.served_model_name or args.model_suffix
        base_url = f"http://{_url_host(args.host)}:{args.port}/v1"
        if args.port != port:
            echo(f"port {port} is taken; swift chose {args.port}")
        echo(f"\nserving {target} as model {name!r} on {base_url} (Ctrl-C stops)\n")
        echo(client_snippet(base_url, name, key="YOUR_API_KEY" if api_key else "EMPTY") + "\n")
        pipeline.main()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
