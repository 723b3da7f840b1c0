"""An azure.servicebus stand-in for tests/transform/subscribe.sh over fakes/_fakequeue.py (the
test checks separately that the real library's methods take the arguments used here)."""
import _fakequeue


class ServiceBusMessage:
    def __init__(self, body):
        self.body = body

    def __str__(self):
        return self.body


class _Received(ServiceBusMessage):
    def __init__(self, handle, body):
        super().__init__(body)
        self.handle = handle


class _Sender:
    def __init__(self, queue):
        self.queue = queue

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def send_messages(self, message, **kw):
        _fakequeue.send(self.queue, str(message))


class _Receiver:
    def __init__(self, queue):
        self.queue = queue

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def receive_messages(self, *a, **kw):
        return [_Received(h, b) for h, b in _fakequeue.receive(self.queue, kw.get("max_message_count", 1))]

    def complete_message(self, message):
        _fakequeue.ack(message.handle)

    def abandon_message(self, message):
        _fakequeue.release(message.handle)


class ServiceBusClient:
    @classmethod
    def from_connection_string(cls, conn_str, **kw):
        return cls()

    def get_queue_sender(self, queue_name, **kw):
        return _Sender(queue_name)

    def get_queue_receiver(self, queue_name, **kw):
        return _Receiver(queue_name)
