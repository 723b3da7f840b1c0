from infrar.storage import upload, list_objects

upload(bucket='b', source='count.txt', destination=str(len(list_objects('b'))))
print([k.upper() for k in list_objects(bucket=list_objects('index')[0])])
