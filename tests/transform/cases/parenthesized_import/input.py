from infrar.storage import (
    upload,
    list_objects,  # listing
)

upload('b', 's', 'd')
print(list_objects('b'))
