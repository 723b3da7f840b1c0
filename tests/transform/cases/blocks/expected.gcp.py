import sys
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()


class Archiver:
    """Moves files to the archive."""

    def archive(self, path, dry_run=False):
        if dry_run:
            print('would upload', path)
        elif path.endswith('.tmp'):
            _gcs_client.bucket('archive').blob(path).delete()
        else:
            _gcs_client.bucket('archive').blob(('archive/' + path)).upload_from_filename(path)

    async def purge(self):
        try:
            for key in [_blob.name for _blob in _gcs_client.list_blobs('archive', prefix='')]:
                while key:
                    with open('/dev/null') as sink:
                        if key.startswith('old/'):
                            _gcs_client.bucket('archive').blob(key).delete()
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
        _gcs_client.bucket('archive').blob('empty').upload_from_filename('empty')


lister = lambda: [_blob.name for _blob in _gcs_client.list_blobs('archive', prefix='')]
