"""Who is calling: staff (password + session), app backends (API keys), subjects (e-mail code).

Every secret is random from `secrets` and stored only as a hash: passwords with scrypt,
API keys, session tokens and codes with SHA-256 / the project's keyed HMAC (they carry
enough entropy, or, for six-digit codes, few enough attempts, that a slow hash adds nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column as SqlColumn
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from troth.errors import TrothError
from troth.project import Project
from troth.server import tables
from troth.store import Store

ROLES = ("admin", "privacy_officer", "support")
SCOPES = ("requests:write", "consent:read", "consent:write", "sharing", "admin")
MIN_PASSWORD = 10
STAFF_SESSION = timedelta(hours=8)
SUBJECT_SESSION = timedelta(hours=1)
CODE_LIFETIME = timedelta(minutes=10)
CODE_ATTEMPTS = 5
RATE_WINDOW = timedelta(minutes=15)
CODES_PER_EMAIL = 3
CODES_PER_IP = 20
CHECK_WINDOW = timedelta(days=1)
CHECK_FAILURES_PER_EMAIL = 20
CHECK_FAILURES_PER_IP = 100
LOGIN_FAILURES = 10  # per IP in RATE_WINDOW
LOGIN_FREE_TRIES = 5  # per login, before its lock starts doubling
LOGIN_BACKOFF = timedelta(seconds=2)
LOGIN_MAX_LOCK = timedelta(minutes=5)
LOGIN_MEMORY = timedelta(days=1)  # how long a login's failures count toward its lock
KEY_CACHE_SECONDS = 10.0
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything troth stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- staff ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    id: int
    login: str
    role: str

    @property
    def can_decide(self) -> bool:
        """Approve, deny, run requests and read exports: not the support role."""
        return self.role in ("admin", "privacy_officer")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual.hex(), digest)


DUMMY_HASH = hash_password(secrets.token_hex(8))


def create_staff(store: Store, login: str, password: str, role: str) -> int:
    """Add a staff login; raises TrothError for a bad role, short password or taken login."""
    login = login.strip().lower()
    if role not in ROLES:
        raise TrothError(f"role must be one of {', '.join(ROLES)}")
    if not login or len(login) > 254 or not login.isprintable():
        raise TrothError("staff login must be 1 to 254 printable characters")
    if len(password) < MIN_PASSWORD:
        raise TrothError(f"password must have at least {MIN_PASSWORD} characters")
    row = {"login": login, "role": role, "password_hash": hash_password(password)}
    try:
        with store.begin() as conn:
            result = conn.execute(insert(tables.staff).values(**row, created_at=now()))
    except IntegrityError:
        raise TrothError("that staff login already exists") from None
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def count(conn: Connection, column: SqlColumn[str], value: str) -> int:
    """Rows of `column`'s table that hold `value`."""
    return int(conn.execute(select(func.count()).where(column == value)).scalar_one())


def failures_since(conn: Connection, column: SqlColumn[str], value: str, since: datetime) -> int:
    """How many rows of `column`'s table hold `value` from `since` on (the table's time
    column is `at`)."""
    at = column.table.c.at
    return int(conn.execute(select(func.count()).where(column == value, at >= since)).scalar_one())


def login_locked_until(failures: int, last: datetime | None) -> datetime | None:
    """When a login with `failures` recent failures opens again. The wait doubles from
    LOGIN_BACKOFF after the free tries but never passes LOGIN_MAX_LOCK after the last failure,
    and tries made while locked are not counted: guessing slows to a few tries an hour, yet
    nobody can keep the owner out for more than a few minutes (and not at all from a browser
    the owner signed in with before, see `known_device`)."""
    if failures < LOGIN_FREE_TRIES or last is None:
        return None
    doublings = min(failures - LOGIN_FREE_TRIES, 20)
    return aware(last) + min(LOGIN_BACKOFF * (1 << doublings), LOGIN_MAX_LOCK)


def login_locked(conn: Connection, login_hash: str) -> bool:
    failures = tables.login_failures
    recent, last = conn.execute(
        select(func.count(), func.max(failures.c.at)).where(failures.c.login_hash == login_hash)
    ).one()
    until = login_locked_until(recent, last)
    return until is not None and now() < until


def device_token(project: Project, login: str) -> str:
    """A cookie value saying this browser signed in as `login` before."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{device_mac(project, login, nonce)}"


def device_mac(project: Project, login: str, nonce: str) -> str:
    return project.keyed_hash("staff-device", f"{login.strip().lower()}:{nonce}")[:32]


def known_device(project: Project, login: str, token: str | None) -> bool:
    nonce, _, mac = (token or "").partition(".")
    return bool(nonce and mac) and hmac.compare_digest(mac, device_mac(project, login, nonce))


def staff_login(
    project: Project, store: Store, login: str, password: str, ip: str, device: str | None
) -> Staff | None:
    """`authenticate_staff`, throttled two ways. An IP with LOGIN_FAILURES failures in
    RATE_WINDOW is refused until the window has passed. A login is locked for a while after
    each failure (`login_locked_until`), except for a browser that carries the `device`
    token of an earlier sign-in as that login."""
    login_hash = project.keyed_hash("staff-login", login.strip().lower())
    ip_hash = project.keyed_hash("staff-ip", ip)
    failures = tables.login_failures
    with store.begin() as conn:
        conn.execute(delete(failures).where(failures.c.at < now() - LOGIN_MEMORY))
        if failures_since(conn, failures.c.ip_hash, ip_hash, now() - RATE_WINDOW) >= LOGIN_FAILURES:
            return None
        if not known_device(project, login, device) and login_locked(conn, login_hash):
            return None
    user = authenticate_staff(store, login, password)
    with store.begin() as conn:
        if user is None:
            conn.execute(insert(failures).values(login_hash=login_hash, ip_hash=ip_hash, at=now()))
        else:
            conn.execute(delete(failures).where(failures.c.login_hash == login_hash))
    return user


def authenticate_staff(store: Store, login: str, password: str) -> Staff | None:
    with store.connect() as conn:
        row = conn.execute(
            select(tables.staff).where(tables.staff.c.login == login.strip().lower())
        ).first()
    # Hash even when the login is unknown, so timing does not tell logins apart.
    ok = check_password(password, row.password_hash if row else DUMMY_HASH)
    return Staff(row.id, row.login, row.role) if row and ok else None


def get_staff(store: Store, staff_id: int) -> Staff | None:
    with store.connect() as conn:
        row = conn.execute(select(tables.staff).where(tables.staff.c.id == staff_id)).first()
    return Staff(row.id, row.login, row.role) if row else None


# --- API keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[str]

    @property
    def owner(self) -> str:
        return f"key:{self.id}"


def create_api_key(store: Store, name: str, scopes: list[str]) -> str:
    """A new key `troth_<id>_<secret>`; only its hash is kept, so show it once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise TrothError(f"scopes must be some of {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise TrothError("API key name must be 1 to 100 characters")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with store.begin() as conn:
        conn.execute(
            insert(tables.api_keys).values(
                id=key_id,
                name=name.strip(),
                secret_hash=sha256(secret),
                scopes=" ".join(sorted(set(scopes))),
                created_at=now(),
            )
        )
    return f"troth_{key_id}_{secret}"


def revoke_api_key(store: Store, key_id: str) -> bool:
    with store.begin() as conn:
        result = conn.execute(
            update(tables.api_keys)
            .where(tables.api_keys.c.id == key_id, tables.api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    return result.rowcount > 0


class ApiKeys:
    """Looks API keys up, caching each answer for a few seconds (the consent check is hot)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    def lookup(self, token: str) -> ApiKey | None:
        cached = self._cache.get(token)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        key = self._load(token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (time.monotonic() + KEY_CACHE_SECONDS, key)
        return key

    def _load(self, token: str) -> ApiKey | None:
        prefix, _, rest = token.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != "troth" or not key_id or not secret or len(token) > 200:
            return None
        with self.store.connect() as conn:
            row = conn.execute(
                select(tables.api_keys).where(
                    tables.api_keys.c.id == key_id, tables.api_keys.c.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.secret_hash, sha256(secret)):
            return None
        return ApiKey(row.id, row.name, frozenset(row.scopes.split()))


# --- sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    kind: str  # "staff" or "subject"
    staff_id: int | None
    subject_ref: str | None  # Project.subject_ref("email", ...): never the raw address


def start_session(
    store: Store, kind: str, *, staff_id: int | None = None, subject_ref: str | None = None
) -> str:
    token = secrets.token_urlsafe(32)
    lifetime = STAFF_SESSION if kind == "staff" else SUBJECT_SESSION
    with store.begin() as conn:
        conn.execute(delete(tables.sessions).where(tables.sessions.c.expires_at < now()))
        conn.execute(
            insert(tables.sessions).values(
                token_hash=sha256(token),
                kind=kind,
                staff_id=staff_id,
                subject_ref=subject_ref,
                expires_at=now() + lifetime,
            )
        )
    return token


def get_session(store: Store, token: str | None) -> Session | None:
    if not token or len(token) > 100:
        return None
    with store.connect() as conn:
        row = conn.execute(
            select(tables.sessions).where(tables.sessions.c.token_hash == sha256(token))
        ).first()
    if row is None or aware(row.expires_at) < now():
        return None
    return Session(row.kind, row.staff_id, row.subject_ref)


def end_session(store: Store, token: str | None) -> None:
    if token:
        with store.begin() as conn:
            conn.execute(
                delete(tables.sessions).where(tables.sessions.c.token_hash == sha256(token))
            )


def end_subject_sessions(store: Store, subject_ref: str) -> None:
    """Sign the subject out everywhere (after an erasure)."""
    with store.begin() as conn:
        conn.execute(delete(tables.sessions).where(tables.sessions.c.subject_ref == subject_ref))


def subject_cookie(token: str, email: str) -> str:
    """The subject's session cookie: the token and the e-mail, which the engine store does
    not keep (the pages and requests need it; the store holds only its pseudonym)."""
    packed = base64.urlsafe_b64encode(email.encode()).decode().rstrip("=")
    return f"{token}.{packed}"


def subject_of_cookie(project: Project, store: Store, cookie: str | None) -> str | None:
    """The signed-in subject's e-mail from their cookie, or None. The e-mail counts only if
    its keyed pseudonym is the session's, so an edited cookie names nobody."""
    token, _, packed = (cookie or "").partition(".")
    session = get_session(store, token)
    if session is None or session.kind != "subject" or not session.subject_ref:
        return None
    try:
        email = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        return None
    same = hmac.compare_digest(project.subject_ref("email", email), session.subject_ref)
    return email if same else None


# --- one-time codes ------------------------------------------------------------------


def issue_code(project: Project, store: Store, email: str, ip: str) -> str | None:
    """A fresh six-digit code for `email`, or None when this e-mail or IP asked too often.

    The caller answers the same either way and whether or not the e-mail is known.
    """
    email_hash = project.keyed_hash("otp-email", email)
    ip_hash = project.keyed_hash("otp-ip", ip)
    code = f"{secrets.randbelow(10**6):06d}"
    since = now() - RATE_WINDOW
    with store.begin() as conn:
        conn.execute(delete(tables.codes).where(tables.codes.c.created_at < since))
        # Every row left is recent, so a plain count is the count in the window.
        limits = (
            (tables.codes.c.email_hash, email_hash, CODES_PER_EMAIL),
            (tables.codes.c.ip_hash, ip_hash, CODES_PER_IP),
        )
        if any(count(conn, column, value) >= limit for column, value, limit in limits):
            return None
        conn.execute(
            insert(tables.codes).values(
                email_hash=email_hash,
                ip_hash=ip_hash,
                code_hash=project.keyed_hash("otp-code", f"{email_hash}:{code}"),
                created_at=now(),
                expires_at=now() + CODE_LIFETIME,
                attempts=0,
                used=0,
            )
        )
    return code


def check_code(project: Project, store: Store, email: str, code: str, ip: str) -> bool:
    """True once for the newest unexpired code of `email`; each try counts, at most five.

    Failed checks are capped per address and per IP over CHECK_WINDOW: past either cap every
    check fails, so neither one address nor one client gets more than a few dozen guesses a
    day, however many codes are issued."""
    email_hash = project.keyed_hash("otp-email", email)
    ip_hash = project.keyed_hash("otp-ip", ip)
    failures = tables.code_failures
    with store.begin() as conn:
        conn.execute(delete(failures).where(failures.c.at < now() - CHECK_WINDOW))
        capped = (
            count(conn, failures.c.email_hash, email_hash) >= CHECK_FAILURES_PER_EMAIL
            or count(conn, failures.c.ip_hash, ip_hash) >= CHECK_FAILURES_PER_IP
        )
        if capped:  # refused unchecked and not counted, so the table stays small
            return False
        ok = use_code(project, conn, email_hash, code)
        if not ok:
            conn.execute(insert(failures).values(email_hash=email_hash, ip_hash=ip_hash, at=now()))
    return ok


def use_code(project: Project, conn: Connection, email_hash: str, code: str) -> bool:
    """Try `code` against the newest code of the address, counting the try."""
    row = conn.execute(
        select(tables.codes)
        .where(tables.codes.c.email_hash == email_hash)
        .order_by(tables.codes.c.id.desc())
        .limit(1)
    ).first()
    if row is None or row.used or row.attempts >= CODE_ATTEMPTS or aware(row.expires_at) < now():
        return False
    expected = project.keyed_hash("otp-code", f"{email_hash}:{code.strip()}")
    ok = hmac.compare_digest(row.code_hash, expected)
    conn.execute(
        update(tables.codes)
        .where(tables.codes.c.id == row.id)
        .values(attempts=row.attempts + 1, used=1 if ok else 0)
    )
    return ok
