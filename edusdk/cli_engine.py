"""`edusdk engine serve`: serve an engine over the OpenAI Videos API shape (extra `serve`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from edusdk._errors import BadInputError


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command("serve")
@click.option("--engine", "engine_name", default="storyboard", show_default=True,
              type=click.Choice(["storyboard", "diffusers"]), help="The engine to serve.")  # fmt: skip
@click.option("--model", type=click.Path(file_okay=False), help="Model directory (diffusers).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535))
@click.option("--api-keys", type=click.Path(dir_okay=False),
              help="Keys file: one `tenant:key` (or bare key) per line; EDUSDK_API_KEYS adds more.")  # fmt: skip
@click.option("--data-dir", default="edusdk-server", show_default=True, type=click.Path(file_okay=False),
              help="Where jobs and videos are kept (survives restarts).")  # fmt: skip
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Renders at once (one per GPU).")  # fmt: skip
@click.option("--no-auth", is_flag=True, help="Serve without API keys (only allowed on a loopback host).")
def serve(engine_name: str, model: str | None, host: str, port: int, api_keys: str | None, data_dir: str,
          concurrency: int, no_auth: bool) -> None:  # fmt: skip
    """Serve an engine as the OpenAI Videos API (POST /v1/videos, poll, download).

    \b
    Example:
      edusdk engine serve --engine storyboard --port 8700 --api-keys engine/api-keys.example.txt --data-dir srv
      edusdk render outline.yaml --engine remote --base-url http://127.0.0.1:8700/v1 --api-key sk-…
    """
    try:
        import uvicorn

        from edusdk.server import ServerConfig, create_app, load_api_keys
    except ImportError as exc:
        raise BadInputError(f"the server needs the `serve` extra ({exc.name} is missing)",
                            hint="pip install 'edusdk[serve]'") from None  # fmt: skip
    keys = load_api_keys(api_keys)
    if not keys and not no_auth:
        raise BadInputError("no API keys: give --api-keys FILE or EDUSDK_API_KEYS",
                            hint="or --no-auth on a loopback host for local development")  # fmt: skip
    if not keys and not _is_loopback(host):
        raise BadInputError(f"--no-auth is only allowed on a loopback host, not {host}")
    options = {"model": model} if model else {}
    config = ServerConfig(engine=engine_name, data_dir=Path(data_dir), api_keys=keys, engine_options=options,
                          concurrency=concurrency)  # fmt: skip
    app = create_app(config)
    click.echo(f"edusdk engine server: {engine_name} on http://{host}:{port}/v1 ({len(keys)} API key(s), "
               f"data in {Path(data_dir).absolute()})", err=True)  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="info")
