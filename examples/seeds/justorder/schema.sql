-- JustOrder: an ordering app. Clients register, order from stores, pay by card or bank
-- transfer, call the call center, answer surveys and subscribe to newsletters, and the app
-- logs devices and reads the phone numbers users share from their address books.
-- Portable across SQLite and PostgreSQL.

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    customer_number VARCHAR(40) NOT NULL UNIQUE,
    full_name VARCHAR(100),
    email VARCHAR(200) NOT NULL UNIQUE,
    phone VARCHAR(40) NOT NULL,
    address VARCHAR(300),
    occupation VARCHAR(100),
    industry VARCHAR(100),
    referred_by INTEGER REFERENCES clients(id),
    state VARCHAR(10) NOT NULL,
    registered_at TIMESTAMP NOT NULL
);
CREATE INDEX clients_email_lower ON clients (lower(email));
CREATE INDEX clients_phone ON clients (phone);
CREATE INDEX clients_customer_number ON clients (customer_number);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    store VARCHAR(100) NOT NULL,
    delivery_address VARCHAR(300) NOT NULL,
    total_cents INTEGER NOT NULL,
    ordered_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_client ON orders (client_id);

CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product VARCHAR(100) NOT NULL,
    quantity INTEGER NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE INDEX order_items_order ON order_items (order_id);

-- A payment and its receipt from the processor or the app store.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    method VARCHAR(10) NOT NULL,
    card_last4 VARCHAR(4),
    bank_account VARCHAR(40),
    amount_cents INTEGER NOT NULL,
    receipt VARCHAR(60) NOT NULL,
    paid_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

-- What the call center took down: questions, corrections and deletions asked for by phone.
CREATE TABLE call_center_calls (
    id INTEGER PRIMARY KEY,
    client_id INTEGER REFERENCES clients(id),
    caller_phone VARCHAR(30) NOT NULL,
    topic VARCHAR(20) NOT NULL,
    notes TEXT,
    called_at TIMESTAMP NOT NULL
);
CREATE INDEX call_center_calls_client ON call_center_calls (client_id);
CREATE INDEX call_center_calls_phone ON call_center_calls (caller_phone);

CREATE TABLE device_logs (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    hardware_model VARCHAR(60),
    os VARCHAR(40),
    ip_address VARCHAR(45),
    device_id VARCHAR(64),
    crash_report TEXT,
    logged_at TIMESTAMP NOT NULL
);
CREATE INDEX device_logs_client ON device_logs (client_id);

-- Phone numbers a user shared from their mobile address book.
CREATE TABLE address_book_entries (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES clients(id),
    contact_name VARCHAR(100),
    contact_phone VARCHAR(30) NOT NULL
);
CREATE INDEX address_book_entries_owner ON address_book_entries (owner_id);
CREATE INDEX address_book_entries_phone ON address_book_entries (contact_phone);

CREATE TABLE newsletter_subscriptions (
    id INTEGER PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    subscribed_at TIMESTAMP NOT NULL
);
CREATE INDEX newsletter_subscriptions_email_lower ON newsletter_subscriptions (lower(email));

CREATE TABLE survey_answers (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    rating INTEGER NOT NULL,
    feedback TEXT,
    answered_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_answers_client ON survey_answers (client_id);
