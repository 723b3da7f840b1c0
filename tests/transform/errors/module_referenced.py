from infrar import storage

handle = storage
