-- Justori: a story-recording app. Registered users record stories on their device (or
-- upload them from their cloud directories), the server keeps them for listening, with
-- cover images from the camera or gallery; devices are known by their identity so that a
-- lost or stolen one can be cut off; listens and usage are logged, by cookie for visitors.
-- Portable across SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username VARCHAR(40) NOT NULL UNIQUE,
    email VARCHAR(200) NOT NULL UNIQUE,
    display_name VARCHAR(100),
    age_range VARCHAR(10),
    gender VARCHAR(20),
    city VARCHAR(60),
    profile_image VARCHAR(200),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_email_lower ON users (lower(email));

-- The identity of each device a user records on; reported_lost_at is set when the user
-- reports it lost or stolen, and the app then refuses it.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    device_id VARCHAR(64) NOT NULL,
    model VARCHAR(60),
    os_version VARCHAR(40),
    reported_lost_at TIMESTAMP,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    title VARCHAR(200) NOT NULL,
    audio_url VARCHAR(200) NOT NULL,
    origin VARCHAR(10) NOT NULL,
    duration_seconds INTEGER NOT NULL,
    recorded_on INTEGER REFERENCES devices(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stories_user ON stories (user_id);
CREATE INDEX stories_recorded_on ON stories (recorded_on);

-- Cover pages and other images of a story, from the device's camera or gallery.
CREATE TABLE story_images (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories(id),
    image_url VARCHAR(200) NOT NULL,
    is_cover INTEGER NOT NULL
);
CREATE INDEX story_images_story ON story_images (story_id);

CREATE TABLE listens (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories(id),
    listener_id INTEGER REFERENCES users(id),
    cookie_id VARCHAR(40),
    listened_at TIMESTAMP NOT NULL
);
CREATE INDEX listens_story ON listens (story_id);
CREATE INDEX listens_listener ON listens (listener_id);
CREATE INDEX listens_cookie ON listens (cookie_id);
