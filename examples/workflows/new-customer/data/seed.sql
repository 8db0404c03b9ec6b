-- The shop's CRM table (load with psql -f seed.sql as the database's owner). The run connects
-- as `crm`, a role that may read and add customers and nothing else: set its password with
-- ALTER ROLE crm PASSWORD '…'.
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    company text,
    email text NOT NULL UNIQUE,
    phone text,
    plan text NOT NULL,
    signup_id text UNIQUE,
    since date NOT NULL DEFAULT current_date
);
ALTER SEQUENCE customers_id_seq RESTART WITH 1041;
INSERT INTO customers (name, company, email, phone, plan, since) VALUES
    ('Ana Kowalski', 'Acme Builders', 'accounts@acme.example', '+44 20 7946 0311', 'trade', '2025-03-14'),
    ('Maya Lindgren', 'Harbour Cafe', 'maya@harbourcafe.example', '+44 20 7946 0488', 'retail', '2025-09-02');
CREATE ROLE crm LOGIN;
GRANT SELECT, INSERT ON customers TO crm;
GRANT USAGE ON SEQUENCE customers_id_seq TO crm;
