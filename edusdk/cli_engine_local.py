"""`edusdk engine tiny-model`: write a tiny random-weight diffusers pipeline for smoke tests (offline).

Example:
    $ edusdk engine tiny-model /tmp/tiny-ltx --family ltx
    $ edusdk render outline.yaml --engine diffusers --model /tmp/tiny-ltx --size 64x64 -o out/tiny.mp4
"""

from __future__ import annotations

import sys

import click

from edusdk._cli_output import Output, json_option
from edusdk._errors import EduSDKError


@click.command("tiny-model")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--family",
    type=click.Choice(["wan", "wan-i2v", "ltx"]),
    default="ltx",
    show_default=True,
    help="Model family: wan (text/video-to-video), wan-i2v (image/first-last frame), ltx (every mode).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random weights.")
@json_option
def tiny_model(directory: str, family: str, seed: int, as_json: bool) -> None:
    """Write a tiny random-weight diffusers pipeline to DIRECTORY (no downloads).

    \b
    Example:
      edusdk engine tiny-model /tmp/tiny-wan --family wan
      edusdk render outline.yaml --engine diffusers --model /tmp/tiny-wan --size 64x64
    """
    out = Output(as_json=as_json)
    try:
        from edusdk.engine.tiny_models import write_tiny_model

        path = write_tiny_model(directory, family=family, seed=seed)
    except EduSDKError as exc:
        click.echo(f"{click.style('error:', fg='red', bold=True)} {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    out.result(
        {"path": str(path), "family": family, "seed": seed},
        lambda: out.console.print(f"wrote a tiny {family} pipeline to {path}"),
    )
