"""Imports inside functions and blocks."""
import logging

log = logging.getLogger(__name__)


def push(path):
    from infrar.storage import upload
    log.info('pushing %s', path)
    upload('b', path, path)


def pull(path):
    from infrar.storage import download
    return download('b', path, path)


try:
    from infrar.storage import delete
except ImportError:
    raise
