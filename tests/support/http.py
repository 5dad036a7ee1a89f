"""A tiny cookie-keeping HTTP client over real sockets (urllib), for tests."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class Response:
    status: int
    url: str
    body: str
    headers: dict[str, str]

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class HttpClient:
    def __init__(self, base_url: str, *, follow_redirects: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.HTTPCookieProcessor(self.cookies)
        ]
        if not follow_redirects:
            handlers.append(NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            self._url(path),
            data=body,
            method=method,
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        )
        try:
            with self.opener.open(req, timeout=15) as resp:
                return Response(resp.status, resp.url, resp.read().decode(), dict(resp.headers))
        except urllib.error.HTTPError as err:
            return Response(err.code, err.url, err.read().decode(), dict(err.headers))

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str] | None = None) -> Response:
        return self.request("POST", path, data or {})

    @staticmethod
    def csrf_token(html: str) -> str:
        match = _CSRF.search(html)
        assert match, "no CSRF token in the page"
        return match.group(1) or match.group(2)

    def login(self, email: str, password: str) -> Response:
        page = self.get("/login")
        return self.post(
            "/login",
            {"csrf_token": self.csrf_token(page.body), "email": email, "password": password},
        )
