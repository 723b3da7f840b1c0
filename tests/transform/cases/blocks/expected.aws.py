import sys
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))


class Archiver:
    """Moves files to the archive."""

    def archive(self, path, dry_run=False):
        if dry_run:
            print('would upload', path)
        elif path.endswith('.tmp'):
            _s3_client.delete_object(Bucket='archive', Key=path)
        else:
            _s3_client.upload_file(path, 'archive', ('archive/' + path))

    async def purge(self):
        try:
            for key in [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='archive', Prefix='') for _obj in _page.get('Contents', [])]:
                while key:
                    with open('/dev/null') as sink:
                        if key.startswith('old/'):
                            _s3_client.delete_object(Bucket='archive', Key=key)
                    key = None
        except OSError as e:
            print(e, file=sys.stderr)
        finally:
            pass


def run(paths):
    if paths:
        for p in paths:
            Archiver().archive(p)
    else:
        _s3_client.upload_file('empty', 'archive', 'empty')


lister = lambda: [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='archive', Prefix='') for _obj in _page.get('Contents', [])]
