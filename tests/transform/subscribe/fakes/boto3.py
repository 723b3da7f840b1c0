"""A boto3 stand-in for tests/transform/subscribe.sh: client('sqs') over fakes/_fakequeue.py. Every
call's parameters are checked against the real botocore model of SQS (Debian's python3-botocore),
so a wrong parameter name or type in the generated code fails here as it would against AWS."""
import botocore.session
from botocore.validate import validate_parameters

import _fakequeue

_model = botocore.session.get_session().get_service_model("sqs")


class _SQS:
    def _check(self, op, params):
        validate_parameters(params, _model.operation_model(op).input_shape)

    def get_queue_url(self, **p):
        self._check("GetQueueUrl", p)
        return {"QueueUrl": "http://sqs.invalid/000000000000/" + p["QueueName"]}

    def send_message(self, **p):
        self._check("SendMessage", p)
        _fakequeue.send(p["QueueUrl"].rsplit("/", 1)[1], p["MessageBody"])
        return {"MessageId": "m"}

    def receive_message(self, **p):
        self._check("ReceiveMessage", p)
        got = _fakequeue.receive(p["QueueUrl"].rsplit("/", 1)[1], p.get("MaxNumberOfMessages", 1))
        return {"Messages": [{"ReceiptHandle": h, "Body": b} for h, b in got]} if got else {}

    def delete_message(self, **p):
        self._check("DeleteMessage", p)
        _fakequeue.ack(p["ReceiptHandle"])
        return {}

    def change_message_visibility(self, **p):
        self._check("ChangeMessageVisibility", p)
        assert p["VisibilityTimeout"] == 0, "released messages are visible again at once"
        _fakequeue.release(p["ReceiptHandle"])
        return {}


def client(service, endpoint_url=None):
    assert service == "sqs", service
    return _SQS()
