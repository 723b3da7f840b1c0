from infrar.storage import upload, list_objects

upload(
    bucket='my-bucket',
    source='local.txt',  # the file on disk
    destination='remote.txt',
)
keys = list_objects(bucket='my-bucket',
                    prefix='a' +
                           'b')
upload('b', ('x'
             'y'), 'z'
       )
