import os, infrar.storage, sys

infrar.storage.delete('b', os.path.join(sys.prefix, 'x'))
