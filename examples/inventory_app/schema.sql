CREATE TABLE product (
    sku      text PRIMARY KEY,
    name     text NOT NULL,
    stock    integer NOT NULL DEFAULT 0 CHECK (stock >= 0)
);
