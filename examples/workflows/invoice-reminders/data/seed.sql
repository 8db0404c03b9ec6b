-- The shop's customers and invoices: what the reminder run reads and marks (load with
-- psql -f seed.sql as the database's owner). The run connects as `billing`, a role that may
-- read both tables and change one column, `reminded_on`, and nothing else: set its password
-- with ALTER ROLE billing PASSWORD '…'.
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    contact text NOT NULL,
    email text NOT NULL,
    phone text
);
CREATE TABLE invoices (
    number text PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    issued date NOT NULL,
    due date NOT NULL,
    amount numeric(10, 2) NOT NULL,
    paid_on date,
    reminded_on date
);
INSERT INTO customers (name, contact, email, phone) VALUES
    ('Acme Builders', 'Ana Kowalski', 'accounts@acme.example', '+44 20 7946 0311'),
    ('Harbour Cafe', 'Maya Lindgren', 'maya@harbourcafe.example', '+44 20 7946 0488'),
    ('Bolt & Co', 'Tom Bolt', 'pay@bolt.example', '+44 20 7946 0172'),
    ('Lindqvist Shop', 'Erik Lindqvist', 'erik@lindqvist.example', NULL);
INSERT INTO invoices (number, customer_id, issued, due, amount, paid_on, reminded_on) VALUES
    -- 32 days overdue, last reminded three weeks ago: a reminder and a call
    ('INV-2026-0412', 1, '2026-10-01', '2026-10-31', 1250.00, NULL, '2026-11-10'),
    -- paid
    ('INV-2026-0418', 4, '2026-10-06', '2026-11-05', 640.00, '2026-11-20', NULL),
    -- 22 days overdue, but reminded a week ago: not yet again
    ('INV-2026-0425', 1, '2026-10-11', '2026-11-10', 99.99, NULL, '2026-11-25'),
    -- 19 days overdue, never reminded: a reminder
    ('INV-2026-0431', 2, '2026-10-14', '2026-11-13', 310.50, NULL, NULL),
    -- 7 days overdue: within the 14 days' grace
    ('INV-2026-0440', 3, '2026-10-26', '2026-11-25', 80.00, NULL, NULL),
    -- not due yet
    ('INV-2026-0450', 2, '2026-11-20', '2026-12-20', 455.00, NULL, NULL);
CREATE ROLE billing LOGIN;
GRANT SELECT ON customers, invoices TO billing;
GRANT UPDATE (reminded_on) ON invoices TO billing;
