"""A worker: every message of the jobs queue to a handler, in each import form of subscribe."""
import json
import os
from google.cloud import pubsub_v1

_pubsub_publisher = pubsub_v1.PublisherClient()
_pubsub_subscriber = pubsub_v1.SubscriberClient()

def _pubsub_subscribe(subscription, handler, max_messages):
    path = _pubsub_subscriber.subscription_path(os.environ['GOOGLE_CLOUD_PROJECT'], subscription)
    done = 0
    while max_messages is None or done < max_messages:
        want = 10 if max_messages is None else min(10, max_messages - done)
        got = _pubsub_subscriber.pull(request={'subscription': path, 'max_messages': want},
                                      timeout=30).received_messages
        for i, m in enumerate(got):
            try:
                handler(json.loads(m.message.data))
            except BaseException:
                _pubsub_subscriber.modify_ack_deadline(request={
                    'subscription': path, 'ack_ids': [r.ack_id for r in got[i:]], 'ack_deadline_seconds': 0})
                raise
            _pubsub_subscriber.acknowledge(request={'subscription': path, 'ack_ids': [m.ack_id]})
            done += 1
    return done


def handle(job):
    print('job', job['n'])


def drain(n):
    # stop after n messages; the count is the value of the call
    handled = _pubsub_subscribe('jobs', handle, n)
    return handled


class Worker:
    def run(self):
        _pubsub_subscribe('jobs', (lambda job: print(job)), None)  # forever


if __name__ == '__main__':
    _pubsub_publisher.publish(_pubsub_publisher.topic_path(os.environ['GOOGLE_CLOUD_PROJECT'], 'jobs'), json.dumps({'n': 1}).encode('utf-8')).result()
    drain(1)
