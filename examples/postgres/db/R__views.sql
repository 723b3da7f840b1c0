-- what the app reads; re-run whenever this file changes
CREATE OR REPLACE VIEW user_names AS SELECT id, name FROM users;
GRANT SELECT ON user_names TO shop_app;
