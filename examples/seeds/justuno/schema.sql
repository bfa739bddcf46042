-- Justuno: a pop-up and marketing service. Client websites show its overlays to their
-- visitors, who leave an e-mail address and what the client asks for. A data provider's
-- cookie recognizes browsers. Justuno's own website takes requests for product
-- information, white papers and webinars. Portable across SQLite and PostgreSQL.

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    domain VARCHAR(200) NOT NULL UNIQUE,
    company VARCHAR(200) NOT NULL,
    joined_at TIMESTAMP NOT NULL
);

-- A visitor of a client's website, as the client's overlay captured them.
CREATE TABLE visitors (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    email VARCHAR(200),
    full_name VARCHAR(100),
    postal_address VARCHAR(300),
    social_handle VARCHAR(100),
    gender VARCHAR(10),
    age_range VARCHAR(10),
    country VARCHAR(2),
    device_os VARCHAR(40),
    device_udid VARCHAR(64),
    ip_address VARCHAR(45),
    provider_cookie VARCHAR(40),
    captured_at TIMESTAMP NOT NULL
);
CREATE INDEX visitors_client ON visitors (client_id);
CREATE INDEX visitors_email_lower ON visitors (lower(email));

-- Each time an overlay was shown to a visitor.
CREATE TABLE overlay_views (
    id INTEGER PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES visitors(id),
    page VARCHAR(300) NOT NULL,
    seconds_on_page INTEGER NOT NULL,
    viewed_at TIMESTAMP NOT NULL
);
CREATE INDEX overlay_views_visitor ON overlay_views (visitor_id);

-- Someone who gave Justuno's own website their contact details.
CREATE TABLE leads (
    id INTEGER PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    full_name VARCHAR(100),
    company VARCHAR(200),
    request VARCHAR(20) NOT NULL,
    interests VARCHAR(200),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX leads_email_lower ON leads (lower(email));

-- The Justuno website's weblog, by the browser's cookie.
CREATE TABLE site_visits (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER REFERENCES leads(id),
    cookie_id VARCHAR(36) NOT NULL,
    ip_address VARCHAR(45) NOT NULL,
    os VARCHAR(40),
    browser VARCHAR(40),
    referrer VARCHAR(300),
    pages_viewed INTEGER NOT NULL,
    visited_at TIMESTAMP NOT NULL
);
CREATE INDEX site_visits_lead ON site_visits (lead_id);
CREATE INDEX site_visits_cookie ON site_visits (cookie_id);
