"""A google.cloud.pubsub_v1 stand-in for tests/transform/subscribe.sh (no Pub/Sub emulator or
library here): a topic delivers to the subscription of the same name (the rules' convention),
over fakes/_fakequeue.py. The request dictionaries are checked for the fields Pub/Sub's pull,
acknowledge and modify_ack_deadline take."""
import _fakequeue


class _Future:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


class PublisherClient:
    def topic_path(self, project, topic):
        return "projects/%s/topics/%s" % (project, topic)

    def publish(self, topic, data):
        assert isinstance(data, bytes), "Pub/Sub takes bytes"
        _fakequeue.send(topic.rsplit("/", 1)[1], data.decode("utf-8"))
        return _Future("m")


class _Msg:
    def __init__(self, data):
        self.data = data


class _Received:
    def __init__(self, ack_id, body):
        self.ack_id = ack_id
        self.message = _Msg(body.encode("utf-8"))


class _Pulled:
    def __init__(self, received):
        self.received_messages = received


class SubscriberClient:
    def subscription_path(self, project, subscription):
        return "projects/%s/subscriptions/%s" % (project, subscription)

    def pull(self, request, timeout=None):
        assert set(request) <= {"subscription", "max_messages", "return_immediately"}, request
        got = _fakequeue.receive(request["subscription"].rsplit("/", 1)[1], request["max_messages"])
        return _Pulled([_Received(h, b) for h, b in got])

    def acknowledge(self, request):
        assert set(request) == {"subscription", "ack_ids"}, request
        for h in request["ack_ids"]:
            _fakequeue.ack(h)

    def modify_ack_deadline(self, request):
        assert set(request) == {"subscription", "ack_ids", "ack_deadline_seconds"}, request
        assert request["ack_deadline_seconds"] == 0
        for h in request["ack_ids"]:
            _fakequeue.release(h)
