"""Orders: a topic and a job queue, every messaging operation."""
import json
import os
from azure.servicebus import ServiceBusClient, ServiceBusMessage

_servicebus_client = ServiceBusClient.from_connection_string(os.environ['AZURE_SERVICEBUS_CONNECTION_STRING'])

def _servicebus_publish(topic, message):
    with _servicebus_client.get_topic_sender(topic) as sender:
        sender.send_messages(ServiceBusMessage(json.dumps(message)))

def _servicebus_send(queue, message):
    with _servicebus_client.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage(json.dumps(message)))

def _servicebus_receive(queue, max_count, wait_seconds):
    with _servicebus_client.get_queue_receiver(queue) as receiver:
        got = receiver.receive_messages(max_message_count=max_count, max_wait_time=max(wait_seconds, 1))
        for m in got:
            receiver.complete_message(m)
        return [json.loads(str(m)) for m in got]


def place(order_id):
    _servicebus_publish('orders', {'order_id': order_id, 'status': 'pending'})
    return _servicebus_send('jobs', {'job': 'invoice', 'order': order_id})


def work(handle):
    while True:
        batch = _servicebus_receive('jobs', 10, 20)
        if not batch:
            break
        for job in batch:
            handle(job)
    return len(_servicebus_receive('jobs', 1, 0))  # defaults: one message, no wait
