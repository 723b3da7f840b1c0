from infrar import storage

storage("b")
