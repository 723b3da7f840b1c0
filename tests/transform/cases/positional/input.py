from infrar.storage import upload, list_objects, delete

upload('b', 'local.txt', destination='remote.txt')
everything = list_objects('b')
some = list_objects('b', 'logs/')
named = list_objects(prefix='logs/', bucket='b')
delete('b', 'remote.txt')
