"""A worker: every message of the jobs queue to a handler, in each import form of subscribe."""
import json
import os
import boto3

_sqs_client = boto3.client('sqs', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

def _sqs_subscribe(queue, handler, max_messages):
    url = _sqs_client.get_queue_url(QueueName=queue)['QueueUrl']
    done = 0
    while max_messages is None or done < max_messages:
        want = 10 if max_messages is None else min(10, max_messages - done)
        got = _sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=want,
                                          WaitTimeSeconds=20).get('Messages', [])
        for i, m in enumerate(got):
            try:
                handler(json.loads(m['Body']))
            except BaseException:
                for r in got[i:]:
                    _sqs_client.change_message_visibility(QueueUrl=url, ReceiptHandle=r['ReceiptHandle'],
                                                          VisibilityTimeout=0)
                raise
            _sqs_client.delete_message(QueueUrl=url, ReceiptHandle=m['ReceiptHandle'])
            done += 1
    return done


def handle(job):
    print('job', job['n'])


def drain(n):
    # stop after n messages; the count is the value of the call
    handled = _sqs_subscribe('jobs', handle, n)
    return handled


class Worker:
    def run(self):
        _sqs_subscribe('jobs', (lambda job: print(job)), None)  # forever


if __name__ == '__main__':
    _sqs_client.send_message(QueueUrl=_sqs_client.get_queue_url(QueueName='jobs')['QueueUrl'], MessageBody=json.dumps({'n': 1}))['MessageId']
    drain(1)
