from infrar.storage import upload
from infrar.aws.s3 import enable_versioning

upload(bucket='data', source='file.txt', destination='file.txt')
enable_versioning(bucket='data')
