from infrar import storage


def sync(bucket):
    for key in storage.list_objects(bucket=bucket, prefix='in/'):
        storage.download(bucket, key, '/tmp/' + key.replace('/', '_'))
