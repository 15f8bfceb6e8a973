"""/docs: Swagger UI served entirely by the service (issue 10, trust boundaries).

FastAPI's page loads Swagger UI from a public CDN (blank on an intranet) and starts it with an
inline script (which a strict CSP refuses). Here the dist files come from the pinned
`fastapi-offline` package (only its static folder is used) and the start script is a file of
ours, so the page references this origin alone and needs no CSP exception.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
_DIST = Path(str(files("fastapi_offline") / "static"))
_INIT = Path(__file__).with_name("static") / "swagger-init.js"
# Relative to /docs, so that a path prefix in front of the service keeps working.
_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/swagger-init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from this service; create the app with docs_url=None."""
    page = _PAGE.format(title=escape(f"{app.title} - Swagger UI"))

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS_PATH}/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> FileResponse:
        return FileResponse(_INIT, media_type="text/javascript")

    app.mount(ASSETS_PATH, StaticFiles(directory=_DIST), name="swagger-ui-assets")
