"""edusdk's engine server: any edusdk engine behind the OpenAI Videos API shape (`POST /v1/videos`, poll, download).

Run it with `edusdk engine serve` (extra `serve`: fastapi, uvicorn, python-multipart) or build the ASGI app:

Example:
    >>> from edusdk.server import ServerConfig, create_app
    >>> app = create_app(ServerConfig(engine="storyboard", data_dir=Path("srv"), api_keys={"tenant-a": "sk-…"}))
"""

from __future__ import annotations

from edusdk.server.app import create_app
from edusdk.server.config import ServerConfig, load_api_keys

__all__ = ["ServerConfig", "create_app", "load_api_keys"]
