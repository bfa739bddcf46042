-- JOJOcell: an encrypted messenger. Users send messages and files (sealed by the vault,
-- a data key per sender), open support tickets, and the service logs devices and usage.
-- Deleting an account in the app sets state 'deleted' and deleted_at, and troth erases what
-- is left of it 30 days later. Portable across SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username VARCHAR(40) NOT NULL UNIQUE,
    email VARCHAR(200) NOT NULL UNIQUE,
    password_hash VARCHAR(120) NOT NULL,
    display_name VARCHAR(100),
    profile_picture VARCHAR(200),
    status_text VARCHAR(140),
    state VARCHAR(10) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_username ON users (username);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX users_deleted_at ON users (deleted_at);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    device_type VARCHAR(20) NOT NULL,
    os VARCHAR(40),
    browser VARCHAR(40),
    ip_address VARCHAR(45),
    connection_type VARCHAR(10),
    city VARCHAR(60),
    last_error_report TEXT,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_last_seen_at ON devices (last_seen_at);

-- Bodies are vault ciphertext (tv1:...) sealed for the sender.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    sender_id INTEGER NOT NULL REFERENCES users(id),
    recipient_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_sender ON messages (sender_id);
CREATE INDEX messages_recipient ON messages (recipient_id);

-- A file or media sent with a message, name and content sealed for the sender.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    owner_id INTEGER NOT NULL REFERENCES users(id),
    file_name TEXT NOT NULL,
    content TEXT NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE INDEX files_owner ON files (owner_id);
CREATE INDEX files_message ON files (message_id);

CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id),
    email VARCHAR(200) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL
);
CREATE INDEX support_tickets_user ON support_tickets (user_id);
CREATE INDEX support_tickets_email_lower ON support_tickets (lower(email));

CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    feature VARCHAR(40) NOT NULL,
    seconds_spent INTEGER NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX usage_events_user ON usage_events (user_id);
CREATE INDEX usage_events_at ON usage_events (at);
