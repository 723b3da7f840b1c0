"""Orders: a topic and a job queue, every messaging operation."""
import json
import os
from google.cloud import pubsub_v1

_pubsub_publisher = pubsub_v1.PublisherClient()
_pubsub_subscriber = pubsub_v1.SubscriberClient()

def _pubsub_receive(subscription, max_count, wait_seconds):
    path = _pubsub_subscriber.subscription_path(os.environ['GOOGLE_CLOUD_PROJECT'], subscription)
    got = _pubsub_subscriber.pull(request={'subscription': path, 'max_messages': max_count},
                                  timeout=max(wait_seconds, 1) + 10).received_messages
    if got:
        _pubsub_subscriber.acknowledge(request={'subscription': path, 'ack_ids': [m.ack_id for m in got]})
    return [json.loads(m.message.data) for m in got]


def place(order_id):
    _pubsub_publisher.publish(_pubsub_publisher.topic_path(os.environ['GOOGLE_CLOUD_PROJECT'], 'orders'), json.dumps({'order_id': order_id, 'status': 'pending'}).encode('utf-8')).result()
    return _pubsub_publisher.publish(_pubsub_publisher.topic_path(os.environ['GOOGLE_CLOUD_PROJECT'], 'jobs'), json.dumps({'job': 'invoice', 'order': order_id}).encode('utf-8')).result()


def work(handle):
    while True:
        batch = _pubsub_receive('jobs', 10, 20)
        if not batch:
            break
        for job in batch:
            handle(job)
    return len(_pubsub_receive('jobs', 1, 0))  # defaults: one message, no wait
