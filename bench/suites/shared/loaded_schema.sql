-- Workload 5: the schema and seed data both tools load into their template database.
-- A small shop: a few tables, their rows, then a 1.5 s pause standing in for the rest of
-- an application's migrations (the issue's "template whose load takes 1.5 s").
CREATE TABLE customer (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE
);
CREATE TABLE product (
    id integer PRIMARY KEY,
    title text NOT NULL,
    price numeric(10, 2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customer,
    product_id integer NOT NULL REFERENCES product,
    quantity integer NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);

INSERT INTO customer SELECT n, 'customer ' || n, 'c' || n || '@example.com'
FROM generate_series(1, 1000) AS n;
INSERT INTO product SELECT n, 'product ' || n, n * 1.25 FROM generate_series(1, 100) AS n;
INSERT INTO orders SELECT n, 1 + n % 1000, 1 + n % 100, 1 + n % 5
FROM generate_series(1, 5000) AS n;

SELECT pg_sleep(1.5);
