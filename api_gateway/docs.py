"""``/api/docs``: Swagger UI on a page without inline script.

flask-smorest's page starts Swagger UI from an inline ``<script>``, which the pages'
Content-Security-Policy (``api_gateway/secheaders.py``) refuses. This page is the same
Swagger UI (the assets of ``swagger_ui_bundle`` under ``/api/docs/static/``) started by a
script file, ``/api/docs/start.js``, that reads the document's URL from the page.
"""

from __future__ import annotations

from flask import Flask, Response, url_for
from markupsafe import escape

DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
"""flask-smorest's endpoint of the docs page, whose view this module replaces."""

START_JS = """\
window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui-container",
  });
});
"""

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link href="{static}swagger-ui.css" rel="stylesheet" type="text/css">
</head>
<body>
<div id="swagger-ui-container" data-spec-url="{spec_url}"></div>
<script src="{static}swagger-ui-standalone-preset.js"></script>
<script src="{static}swagger-ui-bundle.js"></script>
<script src="{start}"></script>
</body>
</html>
"""


def install_docs_page(app: Flask, *, title: str, docs_path: str, static_url: str) -> None:
    """Serve ``docs_path`` (flask-smorest's Swagger UI route) with :data:`PAGE`, and its
    start script beside it."""
    start_path = f"{docs_path}/start.js"

    def page() -> Response:
        html = PAGE.format(
            title=escape(title),
            static=escape(static_url),
            spec_url=escape(url_for("api-docs.openapi_json")),
            start=escape(start_path),
        )
        return Response(html, mimetype="text/html")

    def start() -> Response:
        resp = Response(START_JS, mimetype="text/javascript")
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    app.view_functions[DOCS_ENDPOINT] = page
    app.add_url_rule(start_path, endpoint="docs_start", view_func=start)
