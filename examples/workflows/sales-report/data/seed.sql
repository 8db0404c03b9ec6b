-- The shop's orders: what the weekly sales report reads (load with psql -f seed.sql).
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL
);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    placed date NOT NULL,
    total numeric(10, 2) NOT NULL,
    paid boolean NOT NULL DEFAULT false
);
INSERT INTO customers (name, email) VALUES
    ('Acme Builders', 'accounts@acme.example'),
    ('Bolt & Co', 'pay@bolt.example'),
    ('Corner Hardware', 'owner@corner.example'),
    ('Delta Fixings', 'ap@delta.example');
INSERT INTO orders (customer_id, placed, total, paid) VALUES
    (1, '2026-11-16', 310.00, true),
    (1, '2026-11-23', 1200.50, true),
    (2, '2026-11-24', 80.00, false),
    (3, '2026-11-25', 45.90, true),
    (1, '2026-11-27', 99.99, false),
    (3, '2026-11-29', 12.10, true),
    (4, '2026-11-30', 500.00, false);
