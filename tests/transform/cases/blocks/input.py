import sys
from infrar.storage import upload, delete, list_objects


class Archiver:
    """Moves files to the archive."""

    def archive(self, path, dry_run=False):
        if dry_run:
            print('would upload', path)
        elif path.endswith('.tmp'):
            delete('archive', path)
        else:
            upload('archive', path, 'archive/' + path)

    async def purge(self):
        try:
            for key in list_objects('archive'):
                while key:
                    with open('/dev/null') as sink:
                        if key.startswith('old/'):
                            delete('archive', key)
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
        upload('archive', 'empty', 'empty')


lister = lambda: list_objects('archive')
