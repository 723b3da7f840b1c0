"""Orders: a topic and a job queue, every messaging operation."""
import json
import os
import boto3

_sns_client = boto3.client('sns', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

def _sns_topic_arn(topic):
    # a name is looked up by create_topic, which returns the existing topic's ARN
    return topic if topic.startswith('arn:') else _sns_client.create_topic(Name=topic)['TopicArn']
_sqs_client = boto3.client('sqs', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

def _sqs_receive(queue, max_count, wait_seconds):
    url = _sqs_client.get_queue_url(QueueName=queue)['QueueUrl']
    got = _sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=max_count,
                                      WaitTimeSeconds=wait_seconds).get('Messages', [])
    for m in got:
        _sqs_client.delete_message(QueueUrl=url, ReceiptHandle=m['ReceiptHandle'])
    return [json.loads(m['Body']) for m in got]


def place(order_id):
    _sns_client.publish(TopicArn=_sns_topic_arn('orders'), Message=json.dumps({'order_id': order_id, 'status': 'pending'}))['MessageId']
    return _sqs_client.send_message(QueueUrl=_sqs_client.get_queue_url(QueueName='jobs')['QueueUrl'], MessageBody=json.dumps({'job': 'invoice', 'order': order_id}))['MessageId']


def work(handle):
    while True:
        batch = _sqs_receive('jobs', 10, 20)
        if not batch:
            break
        for job in batch:
            handle(job)
    return len(_sqs_receive('jobs', 1, 0))  # defaults: one message, no wait
