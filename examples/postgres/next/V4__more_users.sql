-- v2's schema change: copied into db/ with the v2 release (shop.yaml), applied by the Rollout's
-- beforePreProd hook before v2 starts
INSERT INTO users (name, email) VALUES ('Grace Hopper', 'grace@example.org');
