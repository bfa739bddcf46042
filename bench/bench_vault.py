"""Vault: sealing throughput beside raw AES-GCM, the decryption an access request adds,
and shred latency, with a key store of 100,000 subjects.

Throughput: 1,000,000 values of 100 bytes sealed and opened through `Vault.encrypt` /
`decrypt` (text in, text out: key id check, associated data, base64) for 1,000
subjects, beside `AESGCM.encrypt` / `decrypt` from `cryptography` on the same bytes
with a fresh nonce and associated data of the same length, in the same run.

Access: what an access export adds for a subject with 1,000 sealed messages: a vault
with an empty cache reads the subject's wrapped key from a key store holding 100,000
keys, unwraps it and opens the 1,000 values (`open_rows`, as the export does).

Shred: `Vault.shred` of one subject (key destroyed and the ledger entry, one
transaction), on SQLite and PostgreSQL engine stores.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import create_engine, insert, text

from bench.common import Result, median, percentile
from troth import vault
from troth.datamap.model import Table
from troth.project import open_project
from troth.store import open_store
from troth.vault import tables as vt
from troth.vault.vault import utcnow, wrap_context

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "vault"
PG_ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_NAME = "troth_bench_vault"
FIELD = "messages.body"
SUBJECTS = 1_000
MESSAGES = {"sender_id": {}, "body": {"encrypted": True, "subject": "user:{sender_id}"}}


def fresh_project(name: str) -> Path:
    root = WORK / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


def throughput(values: int) -> list[Result]:
    root = fresh_project("throughput")
    v = vault.Vault(open_project(root), open_store(f"sqlite:///{root / 'store.db'}"))
    subjects = [f"user:{n}" for n in range(SUBJECTS)]
    plain = ["x" * 100] * values
    for s in subjects:  # keys made and cached: the loop measures sealing only
        v.encrypt(s, "", field=FIELD)
    start = time.perf_counter()
    sealed = [v.encrypt(subjects[i % SUBJECTS], p, field=FIELD) for i, p in enumerate(plain)]
    enc = values / (time.perf_counter() - start)
    start = time.perf_counter()
    for i, value in enumerate(sealed):
        v.decrypt(subjects[i % SUBJECTS], value, field=FIELD)
    dec = values / (time.perf_counter() - start)
    raw_enc, raw_dec = raw_rates(values)
    v.store.dispose()
    return [
        rate("seals/s (100 B)", enc, raw_enc),
        rate("opens/s (100 B)", dec, raw_dec),
    ]


def raw_rates(values: int) -> tuple[float, float]:
    """AESGCM itself on the same sizes: one key per subject, fresh nonce, 36 B of AAD."""
    keys = [AESGCM(AESGCM.generate_key(bit_length=256)) for _ in range(SUBJECTS)]
    data = b"x" * 100
    aad = b"tv1\x00" + FIELD.encode() + b"\x00" + bytes(16)
    start = time.perf_counter()
    sealed = []
    for i in range(values):
        nonce = os.urandom(12)
        sealed.append((nonce, keys[i % SUBJECTS].encrypt(nonce, data, aad)))
    enc = values / (time.perf_counter() - start)
    start = time.perf_counter()
    for i, (nonce, body) in enumerate(sealed):
        keys[i % SUBJECTS].decrypt(nonce, body, aad)
    dec = values / (time.perf_counter() - start)
    return enc, dec


def rate(metric: str, ours: float, raw: float) -> Result:
    share = ours / raw
    return Result(
        "vault",
        metric,
        ours,
        "/s",
        ">= 70% of raw AESGCM",
        f"raw {raw:,.0f}/s ({share:.0%})",
        share >= 0.70,
    )


def filled_store(url: str, project_root: Path, subjects: int) -> vault.Vault:
    """A vault whose key store holds `subjects` data keys, wrapped like real ones."""
    v = vault.Vault(open_project(project_root), open_store(url))
    provider = v.provider(first_use=True)
    kek = provider.current()
    rows = []
    for n in range(subjects):
        key_id = v.key_id(f"user:{n}")
        wrapped = provider.wrap(kek, AESGCM.generate_key(256), wrap_context(key_id))
        rows.append({"key_id": key_id.hex(), "kek_id": kek, "wrapped": wrapped})
    now = utcnow()
    with v.store.begin() as conn:
        for start in range(0, len(rows), 5_000):
            chunk = [{**r, "created_at": now} for r in rows[start : start + 5_000]]
            conn.execute(insert(vt.keys), chunk)
    return v


def access_extra(v: vault.Vault, samples: int) -> Result:
    spec = Table.model_validate({"columns": MESSAGES})
    sender = 7
    sealed = [v.encrypt(f"user:{sender}", "m" * 100, field=FIELD) for _ in range(1_000)]
    times = []
    for _ in range(samples):
        cold = vault.Vault(v.project, v.store)  # an empty key cache, as a new request has
        rows = [{"sender_id": sender, "body": s} for s in sealed]
        start = time.perf_counter()
        failed = vault.open_rows(cold, "app.messages", spec, rows)
        times.append(time.perf_counter() - start)
        assert not failed and rows[0]["body"] == "m" * 100
    ms = median(times) * 1000
    return Result(
        "vault",
        "access: extra for 1,000 sealed messages (100,000 keys, cold cache)",
        ms,
        "ms",
        "<= 20",
        f"p95 {percentile(times, 95) * 1000:.2f} ms",
        ms <= 20,
    )


def shred_latency(v: vault.Vault, backend: str, samples: int) -> Result:
    times = []
    for n in range(samples):
        subject = f"user:{1000 + n}"
        start = time.perf_counter()
        assert v.shred([subject]) == 1
        times.append(time.perf_counter() - start)
    return Result(
        "vault",
        f"shred latency ({backend}, 100,000 keys)",
        median(times) * 1000,
        "ms",
        baseline=f"p95 {percentile(times, 95) * 1000:.2f} ms",
    )


def pg_url() -> str | None:
    """A fresh PostgreSQL database for the key store, or None when the server is down."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_NAME}"))
        admin.dispose()
    except Exception:  # no server: the SQLite figures still stand
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_NAME}"


def run(quick: bool) -> list[Result]:
    values = 100_000 if quick else 1_000_000
    keys = 10_000 if quick else 100_000
    samples = 10 if quick else 30
    results = throughput(values)
    root = fresh_project("keys-sqlite")
    v = filled_store(f"sqlite:///{root / 'store.db'}", root, keys)
    results.append(access_extra(v, samples))
    results.append(shred_latency(v, "SQLite", samples))
    v.store.dispose()
    url = pg_url()
    if url is not None:
        root = fresh_project("keys-pg")
        v = filled_store(url, root, keys)
        results.append(shred_latency(v, "PostgreSQL", samples))
        v.store.dispose()
    return results
