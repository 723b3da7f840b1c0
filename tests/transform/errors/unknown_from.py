from infrar.storage import upload, frobnicate

upload("b", "s", "d")
