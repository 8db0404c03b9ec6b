-- The shop's customers: who may get a reminder (load with psql -f seed.sql).
CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    opted_in boolean NOT NULL DEFAULT false
);
INSERT INTO customers (id, name, email, opted_in) VALUES
    (11, 'Ada Fernandez', 'ada@fernandez.example', true),
    (12, 'Ben Okafor', 'ben@okafor.example', false),
    (13, 'Chloe Martin', 'chloe@martin.example', true),
    (14, 'Dev Patel', 'dev@patel.example', true);
