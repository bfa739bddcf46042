-- Nojoto: an expression platform. Users post stories, go live (streams are watched in
-- real time and never recorded: no table holds a recording), send virtual gifts paid by
-- card or PayTm, upload their phonebook with permission, share their location (precise
-- only with permission) and write to support. Portable across SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username VARCHAR(40) NOT NULL UNIQUE,
    display_name VARCHAR(100),
    email VARCHAR(200) NOT NULL UNIQUE,
    phone VARCHAR(40) NOT NULL,
    password_hash VARCHAR(100) NOT NULL,
    date_of_birth DATE,
    profile_picture VARCHAR(200),
    status VARCHAR(12) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_active_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_last_active_at ON users (last_active_at);
CREATE INDEX users_deleted_at ON users (deleted_at);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    title VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    posted_at TIMESTAMP NOT NULL
);
CREATE INDEX stories_user ON stories (user_id);

-- A live stream's session: who hosted it and when; nothing of what was said or shown.
CREATE TABLE live_streams (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES users(id),
    title VARCHAR(200) NOT NULL,
    viewers INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX live_streams_host ON live_streams (host_id);

-- A virtual gift a viewer sent a creator; its value goes to the creator.
CREATE TABLE gifts (
    id INTEGER PRIMARY KEY,
    sender_id INTEGER NOT NULL REFERENCES users(id),
    creator_id INTEGER NOT NULL REFERENCES users(id),
    stream_id INTEGER REFERENCES live_streams(id),
    coins INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX gifts_sender ON gifts (sender_id);
CREATE INDEX gifts_creator ON gifts (creator_id);
CREATE INDEX gifts_stream ON gifts (stream_id);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    method VARCHAR(10) NOT NULL,
    card_last4 VARCHAR(4),
    paytm_account VARCHAR(40),
    amount_paise INTEGER NOT NULL,
    paid_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_user ON payments (user_id);

-- Names and numbers from a user's phonebook, uploaded with their permission.
CREATE TABLE phonebook_contacts (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    contact_name VARCHAR(100),
    contact_phone VARCHAR(40) NOT NULL,
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX phonebook_contacts_owner ON phonebook_contacts (owner_id);
CREATE INDEX phonebook_contacts_phone ON phonebook_contacts (contact_phone);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    hardware_model VARCHAR(60),
    os_version VARCHAR(40),
    device_id VARCHAR(64) NOT NULL,
    ip_address VARCHAR(45),
    seen_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- Where a user was: a city always, coordinates only with permission.
CREATE TABLE locations (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    city VARCHAR(60) NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX locations_user ON locations (user_id);

CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id),
    email VARCHAR(200) NOT NULL,
    message TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL
);
CREATE INDEX support_tickets_user ON support_tickets (user_id);
CREATE INDEX support_tickets_email_lower ON support_tickets (lower(email));
