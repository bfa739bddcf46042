"""`links`: a link aggregator. Users who invite users, stories, threaded
comments, votes, private messages between two users, sessions and API tokens.

The traps: `users.invited_by_user_id` refers to `users` (following it from one
user reaches the whole invitation tree); `comments.parent_comment_id` refers
to `comments` (a thread mixes authors; on MariaDB a set-based delete of a
thread trips the self-referencing foreign key); `messages` has two links to
`users` (author and recipient); `invitations` has two (inviter and the invited
user) and an `email` column holding the *invitee's* address, for invitees who
never joined too; sessions and API tokens are secrets of exactly one user;
boolean flags are named like identities (`users.show_email`,
`comments.is_from_email`); two users share a phone, written differently.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection, Engine

from .base import Dump, Expect, SharedPhone, Subject, create_all, dump_tables, insert_rows

NAME = "links"
DEFAULT_REGION = "GB"
PERSON_TABLES = ("users",)
KEPT = {"messages": "a private message belongs to both parties; the other party keeps it"}

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(50), nullable=False, unique=True),
    Column("email", String(120), nullable=False, unique=True),
    Column("phone", String(32)),
    Column("password_digest", String(80), nullable=False),
    Column("about", Text),
    Column("invited_by_user_id", Integer, ForeignKey("users.user_id")),
    Column("karma", Integer, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("show_email", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

invitations = Table(
    "invitations",
    metadata,
    Column("invitation_id", Integer, primary_key=True, autoincrement=False),
    Column("inviter_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("new_user_id", Integer, ForeignKey("users.user_id")),
    Column("email", String(120), nullable=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("memo", Text),
    Column("created_at", DateTime, nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("story_id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("title", String(150), nullable=False),
    Column("url", String(250)),
    Column("short_id", String(10), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("comment_id", Integer, primary_key=True, autoincrement=False),
    Column("story_id", Integer, ForeignKey("stories.story_id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("parent_comment_id", Integer, ForeignKey("comments.comment_id")),
    Column("body", Text, nullable=False),
    Column("is_deleted", Boolean, nullable=False),
    Column("is_from_email", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

votes = Table(
    "votes",
    metadata,
    Column("vote_id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("story_id", Integer, ForeignKey("stories.story_id"), nullable=False),
    Column("comment_id", Integer, ForeignKey("comments.comment_id")),
    Column("vote", Integer, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", Integer, primary_key=True, autoincrement=False),
    Column("author_user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("recipient_user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("deleted_by_author", Boolean, nullable=False),
    Column("deleted_by_recipient", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("ip_address", String(45)),
    Column("user_agent", String(200)),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("token", String(64), nullable=False, unique=True),
    Column("label", String(40)),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
)

Index("comments_user", comments.c.user_id)
Index("comments_parent", comments.c.parent_comment_id)
Index("votes_user", votes.c.user_id)

TABLES = (users, invitations, stories, comments, votes, messages, sessions, api_tokens)

T0 = dt.datetime(2024, 3, 1, 9, 0)

# user id, username, phone (as stored), invited by
USERS: list[tuple[int, str, str | None, int | None]] = [
    (1, "al", None, None),
    (2, "bo", "+44 20 7946 0018", 1),
    (3, "cy", None, 1),
    (4, "di", "020 7946 0044", 2),
    (5, "ed", "+44 20 7946 0055", 2),
    (6, "fay", "020 7946 0123", 3),
    (7, "gus", "+44 (0)20 7946 0123", 3),
    (8, "hal", None, 4),
    (9, "ivy", "0044 20 7946 0099", 5),
    (10, "jo", None, 5),
    (11, "kai", None, 6),
    (12, "lin", "+44 20 7946 0112", 7),
]
EMAILS = {
    1: "al.admin@example.com",
    2: "bo.brook@example.org",
    3: "cy.cole@example.net",
    4: "di.dunn@example.com",
    5: "ed.eyre@example.org",
    6: "fay.frost@example.net",
    7: "gus.grant@example.com",
    8: "hal.hart@example.org",
    9: "ivy.irving@example.net",
    10: "jo.jones@example.com",
    11: "kai.kerr@example.org",
    12: "lin.lowe@example.net",
}

# invitation id -> (inviter, new user or None, invitee e-mail)
INVITATIONS: list[tuple[int, int, int | None, str]] = [
    *[(uid - 1, inviter, uid, EMAILS[uid]) for uid, _, _, inviter in USERS if inviter],
    (12, 2, None, "zoe.pending@example.net"),
    (13, 9, None, "yuri.pending@example.org"),
]

# story id -> author
STORIES = {1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 8, 9: 10, 10: 12}

# comment id, story, author, parent, sent by e-mail
COMMENTS: list[tuple[int, int, int, int | None, bool]] = [
    (1, 1, 2, None, False),
    (2, 1, 3, 1, False),
    (3, 1, 2, 2, True),
    (4, 1, 4, None, False),
    (5, 2, 1, None, False),
    (6, 2, 5, 5, False),
    (7, 2, 2, 6, False),
    (8, 3, 6, None, True),
    (9, 3, 7, 8, False),
    (10, 4, 2, None, False),
    (11, 4, 3, 10, False),
    (12, 5, 9, None, False),
    (13, 5, 4, 12, False),
    (14, 6, 10, None, False),
    (15, 6, 5, 14, True),
    (16, 7, 7, None, False),
    (17, 7, 6, 16, False),
    (18, 8, 11, None, False),
    (19, 9, 12, None, False),
    (20, 10, 2, None, False),
    (21, 10, 12, 20, False),
    (22, 10, 8, 21, False),
    (23, 2, 11, None, False),
    (24, 3, 2, 9, False),
]

# vote id, voter, story, comment (None: a vote on the story)
VOTES: list[tuple[int, int, int, int | None]] = [
    (1, 1, 2, None),
    (2, 1, 2, 7),
    (3, 2, 1, None),
    (4, 3, 2, None),
    (5, 3, 1, 1),
    (6, 4, 3, None),
    (7, 5, 2, 5),
    (8, 6, 4, 10),
    (9, 7, 3, 8),
    (10, 8, 10, 20),
    (11, 9, 5, None),
    (12, 10, 6, None),
    (13, 11, 1, 3),
    (14, 12, 10, None),
    (15, 2, 10, 21),
    (16, 5, 3, 24),
    (17, 4, 1, 1),
    (18, 6, 2, None),
]

# message id -> (author, recipient)
MESSAGES = {
    1: (2, 3),
    2: (3, 2),
    3: (2, 5),
    4: (1, 2),
    5: (6, 7),
    6: (7, 6),
    7: (4, 2),
    8: (8, 4),
    9: (10, 5),
    10: (12, 7),
    11: (2, 11),
    12: (9, 1),
}

# sessions: user 2 is signed in on two devices
SESSION_USERS = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
# api tokens: token id -> user
TOKEN_USERS = {1: 2, 2: 2, 3: 5, 4: 8, 5: 12}


def _load(conn: Connection) -> None:
    insert_rows(
        conn,
        users,
        "user_id username email phone password_digest about invited_by_user_id karma"
        " is_admin show_email created_at",
        [
            (
                uid,
                name,
                EMAILS[uid],
                phone,
                f"$2b$12$fixture{uid:02d}" + "x" * 46,
                f"I am {name}." if uid % 3 else None,
                inviter,
                10 * uid,
                uid == 1,
                uid % 2 == 0,
                T0 + dt.timedelta(days=uid),
            )
            for uid, name, phone, inviter in USERS
        ],
    )
    insert_rows(
        conn,
        invitations,
        "invitation_id inviter_id new_user_id email code memo created_at",
        [
            (iid, inviter, new, email, f"invite{iid:03d}", "come and join", T0)
            for iid, inviter, new, email in INVITATIONS
        ],
    )
    insert_rows(
        conn,
        stories,
        "story_id user_id title url short_id created_at",
        [
            (
                sid,
                uid,
                f"Story number {sid}",
                f"https://news{sid}.example.org/a",
                f"st{sid:03d}",
                T0 + dt.timedelta(days=20, hours=sid),
            )
            for sid, uid in STORIES.items()
        ],
    )
    insert_rows(
        conn,
        comments,
        "comment_id story_id user_id parent_comment_id body is_deleted is_from_email created_at",
        [
            (cid, sid, uid, parent, f"Comment {cid} on story {sid}.", False, by_mail,
             T0 + dt.timedelta(days=21, minutes=cid))
            for cid, sid, uid, parent, by_mail in COMMENTS
        ],
    )  # fmt: skip
    insert_rows(
        conn,
        votes,
        "vote_id user_id story_id comment_id vote",
        [(vid, uid, sid, cid, 1 if vid % 4 else -1) for vid, uid, sid, cid in VOTES],
    )
    insert_rows(
        conn,
        messages,
        "message_id author_user_id recipient_user_id subject body deleted_by_author"
        " deleted_by_recipient created_at",
        [
            (mid, a, r, f"Hello {mid}", f"Message {mid} from {a} to {r}.", False, mid == 6,
             T0 + dt.timedelta(days=30, hours=mid))
            for mid, (a, r) in MESSAGES.items()
        ],
    )  # fmt: skip
    insert_rows(
        conn,
        sessions,
        "session_id user_id ip_address user_agent created_at last_seen_at",
        [
            (f"{n:02d}" + "5e55" * 15 + f"{uid:02d}", uid, f"198.51.100.{n + 10}",
             "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", T0, T0 + dt.timedelta(days=n))
            for n, uid in enumerate(SESSION_USERS, start=1)
        ],
    )  # fmt: skip
    insert_rows(
        conn,
        api_tokens,
        "token_id user_id token label created_at last_used_at",
        [
            (tid, uid, "tok_" + f"{tid:02d}{uid:02d}" * 10, f"script {tid}", T0, None)
            for tid, uid in TOKEN_USERS.items()
        ],
    )


def create(engine: Engine) -> None:
    """The schema and its deterministic rows."""
    create_all(engine, metadata, _load)


def dump(engine: Engine) -> Dump:
    """Every row of every table, sorted."""
    return dump_tables(engine, TABLES)


def _rows(
    uid: int,
    *,
    invitations_: int,
    stories_: int,
    comments_: int,
    votes_: int,
    messages_: int,
    sessions_: int,
    tokens: int,
) -> dict[str, Expect]:
    return {
        "users": Expect(f"SELECT user_id FROM users WHERE user_id = {uid}", 1),
        "invitations": Expect(
            f"SELECT invitation_id FROM invitations WHERE inviter_id = {uid}", invitations_
        ),
        "stories": Expect(f"SELECT story_id FROM stories WHERE user_id = {uid}", stories_),
        "comments": Expect(f"SELECT comment_id FROM comments WHERE user_id = {uid}", comments_),
        "votes": Expect(f"SELECT vote_id FROM votes WHERE user_id = {uid}", votes_),
        "messages": Expect(
            "SELECT message_id FROM messages"
            f" WHERE author_user_id = {uid} OR recipient_user_id = {uid}",
            messages_,
        ),
        "sessions": Expect(f"SELECT session_id FROM sessions WHERE user_id = {uid}", sessions_),
        "api_tokens": Expect(f"SELECT token_id FROM api_tokens WHERE user_id = {uid}", tokens),
    }


def _mentions(
    uid: int, *, invitees: int, invited: int, comments_: int, votes_: int
) -> dict[str, Expect]:
    """Other people's rows that refer to user `uid` or hang off uid's rows."""
    return {
        "users": Expect(f"SELECT user_id FROM users WHERE invited_by_user_id = {uid}", invitees),
        "invitations": Expect(
            f"SELECT invitation_id FROM invitations WHERE new_user_id = {uid}", invited
        ),
        # replies to uid's comments and comments on uid's stories, by others
        "comments": Expect(
            f"SELECT comment_id FROM comments WHERE user_id <> {uid} AND ("
            f"parent_comment_id IN (SELECT comment_id FROM comments WHERE user_id = {uid})"
            f" OR story_id IN (SELECT story_id FROM stories WHERE user_id = {uid}))",
            comments_,
        ),
        # others' votes on uid's comments, or on uid's stories themselves
        "votes": Expect(
            f"SELECT vote_id FROM votes WHERE user_id <> {uid} AND ("
            f"comment_id IN (SELECT comment_id FROM comments WHERE user_id = {uid})"
            " OR (comment_id IS NULL AND"
            f" story_id IN (SELECT story_id FROM stories WHERE user_id = {uid})))",
            votes_,
        ),
    }


SUBJECTS = (
    Subject(
        key="al",
        description="the first user and admin: invited bo and cy; no API token",
        email="al.admin@example.com",
        user_id=1,
        rows=_rows(
            1, invitations_=2, stories_=1, comments_=1, votes_=2, messages_=2, sessions_=1, tokens=0
        ),
        mentions=_mentions(1, invitees=2, invited=0, comments_=5, votes_=2),
        traces=("al.admin@example.com",),
    ),
    Subject(
        key="bo",
        description="invited by al, invited di, ed and zoe (pending); busy in threads",
        email="bo.brook@example.org",
        phone="+44 20 7946 0018",
        phone_e164="+442079460018",
        user_id=2,
        rows=_rows(
            2, invitations_=3, stories_=2, comments_=6, votes_=2, messages_=6, sessions_=2, tokens=2
        ),
        mentions=_mentions(2, invitees=2, invited=1, comments_=8, votes_=11),
        traces=("bo.brook@example.org", "+44 20 7946 0018"),
    ),
    Subject(
        key="fay",
        description="shares a phone with gus (written nationally); invited kai",
        email="fay.frost@example.net",
        phone="+44 20 7946 0123",
        phone_e164="+442079460123",
        user_id=6,
        rows=_rows(
            6, invitations_=1, stories_=1, comments_=2, votes_=2, messages_=2, sessions_=1, tokens=0
        ),
        mentions=_mentions(6, invitees=1, invited=1, comments_=2, votes_=1),
        traces=("fay.frost@example.net", "020 7946 0123"),
    ),
    Subject(
        key="gus",
        description="shares a phone with fay (written +44 (0)); invited lin; no story",
        email="gus.grant@example.com",
        phone="020 7946 0123",
        phone_e164="+442079460123",
        user_id=7,
        rows=_rows(
            7, invitations_=1, stories_=0, comments_=2, votes_=1, messages_=3, sessions_=1, tokens=0
        ),
        mentions=_mentions(7, invitees=1, invited=1, comments_=2, votes_=0),
        traces=("gus.grant@example.com", "+44 (0)20 7946 0123"),
    ),
    Subject(
        key="lin",
        description="a leaf of the invitation tree with one story and one API token",
        email="lin.lowe@example.net",
        phone="+44 20 7946 0112",
        phone_e164="+442079460112",
        user_id=12,
        rows=_rows(
            12,
            invitations_=0,
            stories_=1,
            comments_=2,
            votes_=1,
            messages_=1,
            sessions_=1,
            tokens=1,
        ),
        mentions=_mentions(12, invitees=0, invited=1, comments_=2, votes_=1),
        traces=("lin.lowe@example.net", "+44 20 7946 0112"),
    ),
    Subject(
        key="zoe",
        description="invited by bo but never joined: only the invitation holds her e-mail",
        email="zoe.pending@example.net",
        rows={
            "invitations": Expect(
                "SELECT invitation_id FROM invitations WHERE email = 'zoe.pending@example.net'", 1
            )
        },
        traces=("zoe.pending@example.net",),
    ),
)

SHARED_PHONES = (
    SharedPhone(
        phone="+44 20 7946 0123",
        phone_e164="+442079460123",
        subjects=("fay", "gus"),
        account_rows=Expect("SELECT user_id FROM users WHERE user_id IN (6, 7)", 2),
    ),
)

COUNTS = {
    "users": 12,
    "invitations": 13,
    "stories": 10,
    "comments": 24,
    "votes": 18,
    "messages": 12,
    "sessions": 13,
    "api_tokens": 5,
}
