"""``GET /docs``: Swagger UI served by the function itself, with no CDN and no absolute URL.

The Swagger UI files are the ones Powertools for AWS Lambda ships for its own router (already in
the dependency layer, which keeps just these two files of that router). Everything the page loads
goes through the one ``/docs`` route, so no extra API Gateway route is needed:
``/docs?asset=swagger-ui-bundle.js`` and ``/docs?asset=swagger-ui.css``; the favicon is inline.
Every URL on the page is relative, so the page works under any prefix: an API Gateway stage
(``/v1/docs``), a custom domain's base path, a reverse proxy. The spec is fetched as
``openapi.json`` next to the page, and "Try it out" requests are sent below the same prefix.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import orjson

# Name on the page -> (file in Powertools' swagger_ui folder, media type).
ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.min.css", "text/css; charset=utf-8"),
}
_SWAGGER_UI_DIR = ("event_handler", "openapi", "swagger_ui")
# A shield, inline: the favicon costs no request and no file.
_FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Cpath d='M8 1l6 2.5v4C14 11 11.5 14 8 15 4.5 14 2 11 2 7.5v-4z' fill='%23264d73'/%3E%3C/svg%3E"
)


class DocsAssetsMissingError(RuntimeError):
    """The Swagger UI files are not where Powertools keeps them."""


def _swagger_ui_dir() -> Path:
    # find_spec of the top-level package imports nothing (the layer drops event_handler's code).
    spec = importlib.util.find_spec("aws_lambda_powertools")
    if spec is None or not spec.submodule_search_locations:
        raise DocsAssetsMissingError("aws_lambda_powertools (which ships the Swagger UI files) is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *_SWAGGER_UI_DIR)


@cache
def asset(name: str) -> bytes:
    """The bytes of one Swagger UI file; read once per execution environment, on first use."""
    path = _swagger_ui_dir() / ASSETS[name][0]
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DocsAssetsMissingError(f"Swagger UI file {path} is missing") from exc


# Sent with every "Try it out" request: keeps the page's prefix (stage, base path) on the API path.
KEEP_PREFIX = """(request) => {
  if (request.loadSpec) { return request; }
  const base = window.location.pathname.replace(/docs\\/?$/, "");
  if (base === "/" || base === "") { return request; }
  const url = new URL(request.url, window.location.href);
  if (!url.pathname.startsWith(base)) {
    url.pathname = base.replace(/\\/$/, "") + url.pathname;
    request.url = url.toString();
  }
  return request;
}"""


@cache
def page(title: str) -> bytes:
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    title_json = orjson.dumps(title).decode().replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{safe_title}</title>
<link rel="icon" type="image/svg+xml" href="{_FAVICON}">
<link rel="stylesheet" type="text/css" href="docs?asset=swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs?asset=swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  requestInterceptor: {KEEP_PREFIX},
}});
document.title = {title_json};
</script>
</body>
</html>
""".encode()
