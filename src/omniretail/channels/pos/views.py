"""The till's progressive web app at /pos/: the app shell page, its web app
manifest and its service worker (served from /pos/ so it may control the
whole app; it caches every asset the till needs to start offline)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "pos"


@cache
def _assets() -> tuple[list[str], str]:
    """The app's static files (URLs) and a version that changes with any of them."""
    digest = hashlib.sha256()
    urls = []
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        rel = path.relative_to(STATIC_DIR.parent).as_posix()
        digest.update(rel.encode())
        digest.update(path.read_bytes())
        urls.append(static(rel))
    return urls, digest.hexdigest()[:16]


@require_GET
def app_shell(request: HttpRequest) -> HttpResponse:
    _urls, version = _assets()
    return render(request, "pos/index.html", {"version": version})


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    body = {
        "name": "OmniRetail till",
        "short_name": "Till",
        "start_url": "/pos/",
        "scope": "/pos/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d3557",
        "icons": [{"src": static("pos/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(body, content_type="application/manifest+json")


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    urls, version = _assets()
    shell = ["/pos/", "/pos/manifest.webmanifest", *urls]
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    head = f"const VERSION = {json.dumps(version)};\nconst SHELL = {json.dumps(shell)};\n"
    response = HttpResponse(head + source, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/pos/"
    response["Cache-Control"] = "no-cache"
    return response
