"""In-memory queues for tests/transform/subscribe.sh: what the three providers' client libraries
do with a queue, reduced to delivery and acknowledgement, so that the subscribe loop of the
transformed code and the SDK's can be watched doing the same thing. A received message is in
flight until it is acknowledged (gone) or released (back at the head of its queue, in the order
the released messages had, and delivered again)."""
import itertools
import sys

_queues = {}
_handles = itertools.count(1)
_inflight = {}
_released = []


def _note(what):
    print("[queue] " + what, file=sys.stderr)


def send(queue, body):
    _queues.setdefault(queue, []).append(body)


def receive(queue, n):
    q = _queues.setdefault(queue, [])
    q[0:0] = [body for name, body in _released if name == queue]
    _released[:] = [(name, body) for name, body in _released if name != queue]
    got = []
    while q and len(got) < n:
        handle = "h%d" % next(_handles)
        _inflight[handle] = (queue, q.pop(0))
        got.append((handle, _inflight[handle][1]))
    return got


def ack(handle):
    queue, body = _inflight.pop(handle)  # KeyError: acknowledged twice, or never received
    _note("ack %s" % body)


def release(handle):
    queue, body = _inflight.pop(handle)
    _released.append((queue, body))
    _note("release %s" % body)


def left(queue):
    """Messages neither acknowledged nor in flight."""
    return len(_queues.get(queue, [])) + len([1 for name, _ in _released if name == queue])


def in_flight():
    return len(_inflight)
