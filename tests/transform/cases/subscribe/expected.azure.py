"""A worker: every message of the jobs queue to a handler, in each import form of subscribe."""
import json
import os
from azure.servicebus import ServiceBusClient, ServiceBusMessage

_servicebus_client = ServiceBusClient.from_connection_string(os.environ['AZURE_SERVICEBUS_CONNECTION_STRING'])

def _servicebus_send(queue, message):
    with _servicebus_client.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage(json.dumps(message)))

def _servicebus_subscribe(queue, handler, max_messages):
    done = 0
    with _servicebus_client.get_queue_receiver(queue) as receiver:
        while max_messages is None or done < max_messages:
            want = 10 if max_messages is None else min(10, max_messages - done)
            got = receiver.receive_messages(max_message_count=want, max_wait_time=20)
            for i, m in enumerate(got):
                try:
                    handler(json.loads(str(m)))
                except BaseException:
                    for r in got[i:]:
                        receiver.abandon_message(r)
                    raise
                receiver.complete_message(m)
                done += 1
    return done


def handle(job):
    print('job', job['n'])


def drain(n):
    # stop after n messages; the count is the value of the call
    handled = _servicebus_subscribe('jobs', handle, n)
    return handled


class Worker:
    def run(self):
        _servicebus_subscribe('jobs', (lambda job: print(job)), None)  # forever


if __name__ == '__main__':
    _servicebus_send('jobs', {'n': 1})
    drain(1)
