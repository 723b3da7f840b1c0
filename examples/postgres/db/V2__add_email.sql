ALTER TABLE users ADD COLUMN email text;
UPDATE users SET email = 'ada@example.org' WHERE name = 'Ada Lovelace';
