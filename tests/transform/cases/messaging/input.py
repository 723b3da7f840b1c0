"""Orders: a topic and a job queue, every messaging operation."""
from infrar import messaging
from infrar.messaging import receive_messages as fetch


def place(order_id):
    messaging.publish(topic='orders', message={'order_id': order_id, 'status': 'pending'})
    return messaging.send_message('jobs', {'job': 'invoice', 'order': order_id})


def work(handle):
    while True:
        batch = fetch('jobs', max_count=10,
                      wait_seconds=20)
        if not batch:
            break
        for job in batch:
            handle(job)
    return len(fetch('jobs'))  # defaults: one message, no wait
