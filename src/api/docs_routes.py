"""`/docs`: the API's interactive page (Swagger UI) over `/openapi.json`, with every file it
loads served by the ledger itself from the `swagger-ui-bundle-v2` package: nothing from a
CDN, so it works on machines that reach none. The page's own script is a file too, so its
Content-Security-Policy allows scripts, styles, images and requests from this origin only."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from api.problems import ApiProblem
from api.query_route import QueryRoute

# Every script, style sheet, image and request from this origin only (Swagger UI styles its
# elements through the DOM, which style-src allows without 'unsafe-inline').
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>glowledger API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/glow-docs.js"></script>
</body>
</html>
"""
START = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    validatorUrl: null
  });
});
"""
ASSETS = {  # the files the page loads from the package, and their types
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
OWN_SCRIPT = "glow-docs.js"
CACHED = "public, max-age=86400"


@cache
def swagger_ui_folder() -> Path:
    """The package's files (imported when the page is first asked: not at start-up)."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return Path(str(swagger_ui_path))


async def docs_page(_: Request) -> Response:
    return Response(PAGE, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


async def docs_asset(request: Request) -> Response:
    name = request.path_params["asset"]
    if name == OWN_SCRIPT:
        headers = {**SECURITY_HEADERS, "Cache-Control": CACHED}
        return Response(START, media_type=ASSETS["swagger-ui-bundle.js"], headers=headers)
    if name not in ASSETS:
        raise ApiProblem(
            404,
            "no-such-asset",
            "No such asset",
            f"/docs/{name} is not a file of the API page; it has "
            f"{', '.join(sorted([*ASSETS, OWN_SCRIPT]))}",
        )
    return FileResponse(
        swagger_ui_folder() / name,
        media_type=ASSETS[name],
        headers={**SECURITY_HEADERS, "Cache-Control": CACHED},
    )


DOCS_ROUTES = [
    QueryRoute(
        "/docs",
        docs_page,
        "This API's interactive page (Swagger UI over /openapi.json; public)",
        "operations",
        problems=(),
        media_type="text/html",
    ),
    QueryRoute(
        "/docs/{asset}",
        docs_asset,
        "A file of the API page: its script, style sheet and icons (public)",
        "operations",
        problems=(404,),
        media_type="application/octet-stream",
    ),
]
