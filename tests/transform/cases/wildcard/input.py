from infrar.storage import *

upload(bucket='b', source='a', destination='c')
print(list_objects('b'))
