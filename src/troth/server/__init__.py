"""troth.server: the HTTP API, Data Rights Protocol, privacy center and admin console.

    troth serve -p PROJECT [--host 127.0.0.1] [--port 8000] [--workers N]
    troth demo [--dir demo-project] [--users 1000] [--port 8000]
    troth server create-staff LOGIN --role admin|privacy_officer|support
    troth server create-api-key NAME --scope requests:write --scope consent:read ...

Who may do what:
- app backends: API keys (`Authorization: Bearer troth_<id>_<secret>`, stored hashed)
  with scopes requests:write, consent:read, consent:write, sharing, admin (admin implies all);
- DRP authorized agents: an API key with requests:write is the agent's bearer token;
- staff: login + password (scrypt) at /admin, an HttpOnly SameSite=Lax session cookie;
  guessing is throttled per IP and per login (a lock of at most minutes, which a browser
  that signed in before skips); admin and privacy_officer see plans, decide requests and
  read exports, support only reads metadata and the audit trail;
- subjects: a six-digit code e-mailed through `troth.outbox` (10 minutes, 5 tries, codes
  and failed checks limited per address and per IP, the same answer for unknown
  addresses), then a session cookie whose row keeps only the subject's pseudonym; every
  request id they use must be one they made.

Per-IP limits key on the TCP peer unless it is one of `[server] trusted_proxies`; bodies
over `[server] max_body_bytes` get 413 and a JSON key named twice gets 400.

Every HTML form carries a CSRF token (double submit with SameSite=Lax cookies); cookies
get the Secure flag over HTTPS (or `[server] secure_cookies = true` in troth.toml).
"""

from troth.server.app import create_app

__all__ = ["create_app"]
