"""Messages: publish, send_message, receive_messages on the provider of INFRAR_PROVIDER.

The calls do what ``cratis transform`` turns them into (plugins/messaging/transformations/
rules.yaml). Messages are JSON values. ``publish`` goes to a topic (SNS, Pub/Sub, a Service Bus
topic); ``send_message`` and ``receive_messages`` to a queue (SQS; on gcp the Pub/Sub topic and
subscription named after the queue; a Service Bus queue). ``receive_messages`` acknowledges
(deletes) the messages it returns. ``subscribe`` calls a handler with every message of a queue,
acknowledging each when the handler returns (at least once). Endpoints come from AWS_ENDPOINT_URL, GOOGLE_CLOUD_PROJECT
and AZURE_SERVICEBUS_CONNECTION_STRING.
"""
import json
import os

from infrar import _provider

__all__ = ["publish", "send_message", "receive_messages", "subscribe", "MessagingError"]

_clients = {}


class MessagingError(RuntimeError):
    """A messaging call failed; the provider's exception is the __cause__."""


def _client(kind):
    if kind not in _clients:
        if kind in ("sqs", "sns"):
            import boto3
            _clients[kind] = boto3.client(kind, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
        elif kind == "publisher":
            from google.cloud import pubsub_v1
            _clients[kind] = pubsub_v1.PublisherClient()
        elif kind == "subscriber":
            from google.cloud import pubsub_v1
            _clients[kind] = pubsub_v1.SubscriberClient()
        else:
            from azure.servicebus import ServiceBusClient
            _clients[kind] = ServiceBusClient.from_connection_string(
                os.environ["AZURE_SERVICEBUS_CONNECTION_STRING"])
    return _clients[kind]


def _call(fn):
    provider = _provider.current()
    try:
        return fn(provider)
    except (_provider.ProviderError, _HandlerFailed):
        raise
    except Exception as e:  # the provider libraries raise their own types
        raise MessagingError("%s: %s" % (provider, e)) from e


def _gcp_publish(topic, message):
    c = _client("publisher")
    path = c.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], topic)
    return c.publish(path, json.dumps(message).encode("utf-8")).result()


def _azure_send(sender, message):
    from azure.servicebus import ServiceBusMessage
    with sender:
        sender.send_messages(ServiceBusMessage(json.dumps(message)))


def publish(topic, message):
    """Publish the JSON value ``message`` to ``topic`` (a name; on aws also an ARN)."""
    def run(provider):
        if provider == "aws":
            c = _client("sns")
            arn = topic if topic.startswith("arn:") else c.create_topic(Name=topic)["TopicArn"]
            return c.publish(TopicArn=arn, Message=json.dumps(message))["MessageId"]
        if provider == "gcp":
            return _gcp_publish(topic, message)
        return _azure_send(_client("servicebus").get_topic_sender(topic), message)
    return _call(run)


def send_message(queue, message):
    """Send the JSON value ``message`` to ``queue`` (a name)."""
    def run(provider):
        if provider == "aws":
            c = _client("sqs")
            url = c.get_queue_url(QueueName=queue)["QueueUrl"]
            return c.send_message(QueueUrl=url, MessageBody=json.dumps(message))["MessageId"]
        if provider == "gcp":
            return _gcp_publish(queue, message)
        return _azure_send(_client("servicebus").get_queue_sender(queue), message)
    return _call(run)


def receive_messages(queue, max_count=1, wait_seconds=0):
    """At most ``max_count`` messages of ``queue`` (waiting up to ``wait_seconds`` for the
    first), decoded from JSON and acknowledged, as a list."""
    def run(provider):
        if provider == "aws":
            c = _client("sqs")
            url = c.get_queue_url(QueueName=queue)["QueueUrl"]
            got = c.receive_message(QueueUrl=url, MaxNumberOfMessages=max_count,
                                    WaitTimeSeconds=wait_seconds).get("Messages", [])
            for m in got:
                c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return [json.loads(m["Body"]) for m in got]
        if provider == "gcp":
            c = _client("subscriber")
            path = c.subscription_path(os.environ["GOOGLE_CLOUD_PROJECT"], queue)
            got = c.pull(request={"subscription": path, "max_messages": max_count},
                         timeout=max(wait_seconds, 1) + 10).received_messages
            if got:
                c.acknowledge(request={"subscription": path, "ack_ids": [m.ack_id for m in got]})
            return [json.loads(m.message.data) for m in got]
        with _client("servicebus").get_queue_receiver(queue) as receiver:
            got = receiver.receive_messages(max_message_count=max_count,
                                            max_wait_time=max(wait_seconds, 1))
            for m in got:
                receiver.complete_message(m)
            return [json.loads(str(m)) for m in got]
    return _call(run)


class _HandlerFailed(Exception):
    """subscribe's handler raised (the exception is kept aside): not a provider error."""


def _handle(handler, message, release, failed):
    try:
        handler(message)
    except BaseException as e:
        release()
        failed.append(e)
        raise _HandlerFailed() from None


def subscribe(queue, handler, max_messages=None):
    """Call ``handler`` with every message of ``queue`` (decoded from JSON), blocking. A message
    is acknowledged when the handler returns; when it raises, that message and the rest of its
    batch are released for redelivery and the handler's exception propagates (at least once).
    With ``max_messages``, return the number handled once it is reached; without, run until the
    process is stopped."""
    failed = []

    def batches(done):
        return 10 if max_messages is None else min(10, max_messages - done)

    def run(provider):
        done = 0
        if provider == "aws":
            c = _client("sqs")
            url = c.get_queue_url(QueueName=queue)["QueueUrl"]
            while max_messages is None or done < max_messages:
                got = c.receive_message(QueueUrl=url, MaxNumberOfMessages=batches(done),
                                        WaitTimeSeconds=20).get("Messages", [])
                for i, m in enumerate(got):
                    def release(rest=got[i:]):
                        for r in rest:
                            c.change_message_visibility(QueueUrl=url, ReceiptHandle=r["ReceiptHandle"],
                                                        VisibilityTimeout=0)
                    _handle(handler, json.loads(m["Body"]), release, failed)
                    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    done += 1
            return done
        if provider == "gcp":
            c = _client("subscriber")
            path = c.subscription_path(os.environ["GOOGLE_CLOUD_PROJECT"], queue)
            while max_messages is None or done < max_messages:
                got = c.pull(request={"subscription": path, "max_messages": batches(done)},
                             timeout=30).received_messages
                for i, m in enumerate(got):
                    def release(rest=got[i:]):
                        c.modify_ack_deadline(request={"subscription": path, "ack_ids": [r.ack_id for r in rest],
                                                       "ack_deadline_seconds": 0})
                    _handle(handler, json.loads(m.message.data), release, failed)
                    c.acknowledge(request={"subscription": path, "ack_ids": [m.ack_id]})
                    done += 1
            return done
        with _client("servicebus").get_queue_receiver(queue) as receiver:
            while max_messages is None or done < max_messages:
                got = receiver.receive_messages(max_message_count=batches(done), max_wait_time=20)
                for i, m in enumerate(got):
                    def release(rest=got[i:]):
                        for r in rest:
                            receiver.abandon_message(r)
                    _handle(handler, json.loads(str(m)), release, failed)
                    receiver.complete_message(m)
                    done += 1
        return done
    try:
        return _call(run)
    except _HandlerFailed:
        pass
    raise failed[0]  # the handler's own exception, outside the except block: no chained context
