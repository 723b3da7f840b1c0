-- cratis:no-transaction
CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);
