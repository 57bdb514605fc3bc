"""One structured log line per request (engine.logs fields plus endpoint, method, status_code),
under a trace id that engine logs written during the request share and the response returns."""
from __future__ import annotations

import logging
import time

from api.tokens import TokenIssuer
from engine.logs import new_trace_id, trace

log = logging.getLogger("range_control.api.requests")
TRACE_HEADER = b"x-trace-id"


class RequestLogMiddleware:
    def __init__(self, app, *, tokens: TokenIssuer):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", ()))
        incoming = headers.get(TRACE_HEADER, b"").decode("latin-1")
        trace_id = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else new_trace_id()
        user_id = None
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token:
            user_id = self.tokens.peek_user(token.strip())
        status = {"code": 500}

        async def send_with_trace(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (TRACE_HEADER, trace_id.encode())]
            await send(message)

        started = time.perf_counter()
        with trace(trace_id, user_id=user_id):
            try:
                await self.app(scope, receive, send_with_trace)
            finally:
                code = status["code"]
                level = logging.ERROR if code >= 500 else logging.INFO
                if log.isEnabledFor(level):  # LOG_LEVEL=WARNING: no line to build
                    log.log(level, f"{scope['method']} {scope['path']} {code}", extra={
                        "trace_id": trace_id, "user_id": user_id, "action": "http.request",
                        "status": "ok" if code < 400 else "error",
                        "endpoint": scope["path"], "method": scope["method"],
                        "status_code": code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        # The address limits use, and the TCP peer (a proxy, behind one).
                        "client_ip": (scope.get("client") or ("",))[0],
                        "peer": scope.get("peer")})
