from infrar.storage import upload

callbacks = [upload]
