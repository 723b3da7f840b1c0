from infrar.storage import upload as up, download as fetch

up(bucket='my-bucket', source='local.txt', destination='remote.txt')
fetch(bucket='my-bucket', source='remote.txt', destination='local.txt')
